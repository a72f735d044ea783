/**
 * A V8 CPU profile of a window of this process (node:inspector's Profiler), written as a
 * .cpuprofile file (the format `node --cpu-prof` writes; open it in Chrome DevTools, or summarise it
 * with bench/summarise-cpu-profile.ts). Unlike `--cpu-prof`, which covers the whole run, this
 * leaves out a bench's set-up (writing the image, starting peers) and its baseline rounds.
 */
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';

export class CpuProfileWindow {
  private readonly session = new Session();
  private started = false;

  async start(): Promise<void> {
    if (!this.started) {
      this.session.connect();
      await this.session.post('Profiler.enable');
      // 0.1 ms between samples (V8's default is 1 ms): short rounds still give enough samples.
      await this.session.post('Profiler.setSamplingInterval', { interval: 100 });
      this.started = true;
    }
    await this.session.post('Profiler.start');
  }

  /** Stop sampling and write what was sampled since `start()`. */
  async stop(path: string): Promise<void> {
    const { profile } = await this.session.post('Profiler.stop');
    await writeFile(path, JSON.stringify(profile));
  }

  close(): void {
    if (this.started) this.session.disconnect();
  }
}
