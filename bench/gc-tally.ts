/**
 * V8's garbage collections in this process over a window (perf_hooks 'gc' entries): how many of
 * each kind and their summed pause. With `--single-threaded-gc` the pauses are main-thread CPU;
 * on a loaded machine they are wall time, so read them beside the thread CPU the bench prints.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

const KIND: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

export class GcTally {
  private readonly byKind = new Map<string, { count: number; ms: number }>();
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.add(entry);
  });

  start(): void {
    this.byKind.clear();
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stop observing; `mark-compact 12 (0.31 s), scavenge 140 (0.20 s)`. */
  stop(): string {
    for (const entry of this.observer.takeRecords()) this.add(entry);
    this.observer.disconnect();
    return [...this.byKind].map(([kind, t]) => `${kind} ${t.count} (${(t.ms / 1000).toFixed(2)} s)`).join(', ') || 'none';
  }

  private add(entry: PerformanceEntry): void {
    const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
    const kind = KIND[detail?.kind ?? -1] ?? 'other';
    const t = this.byKind.get(kind) ?? { count: 0, ms: 0 };
    t.count++;
    t.ms += entry.duration;
    this.byKind.set(kind, t);
  }
}
