/** The HTTP transport for the Transport conformance suite: a real HTTP origin on loopback. */
import { createHttpTransport } from '../../../activities/transports/http-transport.js';
import { HttpSchema } from '../../../config/config-schema.js';
import { HttpOrigin } from '../../support/http-origin.js';
import { LOOPBACK_HTTP } from '../../support/image-proxy-world.js';
import type { TransportHarnessFactory } from './transport-conformance.js';

const harness: TransportHarnessFactory = {
  name: 'http',
  async start(_dir, contents) {
    const origin = await new HttpOrigin().start();
    const paths = contents.map((_, i) => `/conformance-${i}`);
    const urls = contents.map((c, i) => origin.addBuffer(paths[i]!, c.data));
    contents.forEach((c, i) => c.slow && origin.injectFaults(paths[i]!, { kind: 'slow', bytesPerSecond: 1 << 20 }));
    return {
      transport: createHttpTransport({ config: HttpSchema.parse(LOOPBACK_HTTP) }), // the origin is on loopback
      urls,
      bytesServed: (i) => origin.bytesSentOf(paths[i]!),
      dispose: () => origin.stop(),
    };
  },
};
export default harness;
