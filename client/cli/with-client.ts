/**
 * The one place commands get a Temporal client from (so how it connects changes here only). The
 * client module is imported on use: `--help` and the config checks never load gRPC.
 */
import type { ImageProxyClient } from '../image-proxy-client.js';
import type { CliIo } from './cli-io.js';

export async function connectClient(io: CliIo): Promise<ImageProxyClient> {
  const [{ ImageProxyClient: Client }, { temporalSettings }] = await Promise.all([import('../image-proxy-client.js'), import('../temporal-connection.js')]);
  // Temporal's environment configuration (profile file, TEMPORAL_* variables) of this command's environment.
  return Client.connect({ settings: temporalSettings({ env: io.env }) });
}

/** Run `fn` with a connected client, closed afterwards whatever happens. */
export async function withClient<T>(io: CliIo, fn: (client: ImageProxyClient) => Promise<T>): Promise<T> {
  const client = await connectClient(io);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
