/** The SOAP/JSON front as `dev` and `serve` start it from their command-line options. */
import type { Command } from 'commander';
import type { FrontFromConfigOptions } from '../http-front/front-from-config.js';
import type { HttpFront } from '../http-front/server.js';
import type { CliIo } from './cli-io.js';

export interface HttpOptions {
  http: boolean;
  httpPort: string;
  httpHost: string;
  insecure?: boolean;
}

export function addHttpOptions(command: Command): Command {
  return command
    .option('--http-port <port>', 'port of the SOAP/JSON front (0: any free port)', '8080')
    .option('--http-host <host>', 'address of the SOAP/JSON front', '127.0.0.1')
    .option('--insecure', 'allow a non-loopback --http-host without authentication in the config');
}

/** Where the front answers: the WSDL of the SOAP service and the JSON API's root. */
export interface FrontUrls {
  soap: string;
  json: string;
}

export function frontUrls(front: HttpFront): FrontUrls {
  return { soap: `${front.url}/axis2/services/IMAGEPROXY?wsdl`, json: `${front.url}/v1/images` };
}

/** Start the front as the command line says; unless `quiet` (--json), say where it listens. */
export async function startFront(
  io: CliIo,
  opts: HttpOptions & { quiet?: boolean },
  deps: Pick<FrontFromConfigOptions, 'config' | 'configDir' | 'client' | 'logger'>,
): Promise<HttpFront> {
  const { startFrontFromConfig } = await import('../http-front/front-from-config.js');
  const front = await startFrontFromConfig({
    ...deps,
    host: opts.httpHost,
    port: Number(opts.httpPort),
    ...(opts.insecure ? { insecure: true } : {}),
  });
  const urls = frontUrls(front);
  if (!opts.quiet) io.out(`SOAP: ${urls.soap}  JSON: ${urls.json}\n`);
  return front;
}
