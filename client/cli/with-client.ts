/**
 * The one place commands get a Temporal client from (so how it connects changes here only). The
 * client module is imported on use: `--help` and the config checks never load gRPC.
 */
import type { ImageProxyClient } from '../image-proxy-client.js';
import type { CliIo } from './cli-io.js';

export async function connectClient(io: CliIo): Promise<ImageProxyClient> {
  const { ImageProxyClient: Client } = await import('../image-proxy-client.js');
  return Client.connect({
    ...(io.env.TEMPORAL_ADDRESS ? { address: io.env.TEMPORAL_ADDRESS } : {}),
    ...(io.env.TEMPORAL_NAMESPACE ? { namespace: io.env.TEMPORAL_NAMESPACE } : {}),
  });
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
