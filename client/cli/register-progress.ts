/**
 * Register and wait, showing progress on stderr (stdout stays for the answer): a bar redrawn in
 * place on a terminal, otherwise (unless `plainLines` is off, as with --json for scripts) a plain
 * line when the stage changes and every 10 s while downloading.
 */
import type { RegisterImageInput, RegisterImageResult } from '../../common/register-contract.js';
import type { ImageProxyClient } from '../image-proxy-client.js';
import { progressLine } from '../progress-line.js';
import type { CliIo } from './cli-io.js';
import { cutShortPause } from './cut-short-pause.js';

export async function registerShowingProgress(
  client: ImageProxyClient,
  request: RegisterImageInput,
  io: CliIo,
  opts: { plainLines: boolean },
): Promise<RegisterImageResult> {
  const tty = io.errIsTTY;
  if (!tty && !opts.plainLines) return client.registerImage(request);
  let lastLine = '';
  let lastPrinted = 0;
  let stop = false;
  const { pause, cut } = cutShortPause(); // the registration's answer cuts the pause short
  const poll = async (): Promise<void> => {
    // The first look waits a little: an image already registered answers before it.
    await pause(tty ? 500 : 1000);
    while (!stop) {
      const status = await client.getStatus(request.guid, request.site).catch(() => undefined);
      if (stop) return;
      if (status?.progress) {
        const line = progressLine(status.progress, { bar: tty });
        if (tty) io.err(`\r\x1b[2K${line}`);
        else if (line.split(' ')[0] !== lastLine.split(' ')[0] || Date.now() - lastPrinted >= 10_000) {
          io.err(`${line}\n`);
          lastPrinted = Date.now();
        }
        lastLine = line;
      }
      await pause(tty ? 500 : 1000);
    }
  };
  const polling = poll();
  try {
    return await client.registerImage(request);
  } finally {
    stop = true;
    cut();
    await polling;
    if (tty && lastLine) io.err('\r\x1b[2K');
  }
}
