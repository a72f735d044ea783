/**
 * Distribute and wait, showing progress on stderr (stdout stays for the answer): one line for all
 * sites, redrawn in place on a terminal, otherwise printed when it changes shape and every 10 s;
 * and a line per site as it finishes. Reads the distribution's progress query and, for the sites
 * still running, their registrations' status (heartbeats: no history events).
 */
import type { DistributeImageResult, SiteOutcome } from '../../common/distribute-contract.js';
import { distributeProgressQuery } from '../../common/distribute-contract.js';
import { normalizeGuid } from '../../common/guid.js';
import { distributeWorkflowId } from '../../common/naming.js';
import type { DistributeRequest, ImageProxyClient } from '../image-proxy-client.js';
import { fleetLine, siteDoneLine, type RunningSite } from '../fleet-progress-line.js';
import type { CliIo } from './cli-io.js';
import { cutShortPause } from './cut-short-pause.js';

/** Sites whose status is read on each look (the line counts the others by the query alone). */
const SITES_LOOKED_AT = 32;

export async function distributeShowingProgress(
  client: ImageProxyClient,
  request: DistributeRequest,
  io: CliIo,
  opts: { plainLines: boolean },
): Promise<DistributeImageResult> {
  const tty = io.errIsTTY;
  if (!tty && !opts.plainLines) return client.distributeImage(request);
  const sites = [...new Set(request.sites)];
  const guid = normalizeGuid(request.guid);
  const handle = client.temporal.workflow.getHandle(distributeWorkflowId(guid, sites, request.mode ?? 'register'));
  const reported = new Set<string>();
  let lastLine = '';
  let lastPrinted = 0;
  let stop = false;
  const { pause, cut } = cutShortPause(); // the distribution's answer cuts the pause short
  const showDone = (outcomes: readonly SiteOutcome[]): void => {
    for (const o of outcomes) {
      if (reported.has(o.site)) continue;
      reported.add(o.site);
      io.err(`${tty ? '\r\x1b[2K' : ''}  ${siteDoneLine(o)}\n`);
      if (tty && lastLine) io.err(lastLine);
    }
  };
  const poll = async (): Promise<void> => {
    await pause(tty ? 500 : 1000); // sites that already hold the image answer before this
    while (!stop) {
      const progress = await handle.query(distributeProgressQuery).catch(() => undefined);
      if (stop) return;
      if (progress) {
        showDone(progress.done);
        const running: RunningSite[] = await Promise.all(
          progress.pending.slice(0, SITES_LOOKED_AT).map(async (site) => {
            const status = await client.getStatus(guid, site, request.mode ?? 'register').catch(() => undefined);
            return { site, ...(status?.progress ? { progress: status.progress } : {}) };
          }),
        );
        if (stop) return;
        const unseen = progress.pending.slice(SITES_LOOKED_AT).map((site) => ({ site }));
        const line = fleetLine(sites.length, progress.done, [...running, ...unseen], { bar: tty });
        if (tty) io.err(`\r\x1b[2K${line}`);
        else if (shape(line) !== shape(lastLine) || Date.now() - lastPrinted >= 10_000) {
          io.err(`${line}\n`);
          lastPrinted = Date.now();
        }
        lastLine = line;
      }
      // Each look costs a few calls per running site: look less often at many sites.
      const looked = Math.min(progress?.pending.length ?? 0, SITES_LOOKED_AT);
      await pause(Math.max(tty ? 1000 : 2000, looked * (tty ? 100 : 200)));
    }
  };
  const polling = poll();
  let result: DistributeImageResult | undefined;
  try {
    result = await client.distributeImage(request);
    return result;
  } finally {
    stop = true;
    cut();
    await polling;
    if (tty && lastLine) io.err('\r\x1b[2K');
    lastLine = '';
    // Sites that finished after the last look: their line too, before the answer.
    if (result) showDone(result.sites);
  }
}

/** The line without its byte counts: what changed besides the bytes (sites done, stages). */
function shape(line: string): string {
  return line.replace(/[\d.]+ [KMGT]?i?B(\/s)?/g, '');
}
