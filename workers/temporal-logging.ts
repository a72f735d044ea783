/** The Temporal runtime of this process: the SDK's own log lines through the process logger, and its worker metrics. */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

export interface TemporalRuntimeOptions {
  /** Where the runtime serves its own Prometheus metrics (`host:port`). @default no metrics */
  prometheusBindAddress?: string;
}

/**
 * Install the Temporal runtime of this process: the SDK's own log lines (worker state changes, …)
 * go through `logger`, from warnings up unless `TEMPORAL_LOG_LEVEL` says otherwise, and its worker
 * metrics are served when asked. Only the first call in a process counts; returns whether it did.
 */
export function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): boolean {
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        const { message, meta } = entry;
        if (message.startsWith('No workflows registered')) return; // host queues run activities only
        const fn = entry.level === 'ERROR' ? logger.error : entry.level === 'WARN' ? logger.warn : logger.info;
        fn.call(logger, { sdk: meta ?? {} }, message);
      }),
      ...(options.prometheusBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.prometheusBindAddress } } } } : {}),
    });
    return true;
  } catch {
    // A runtime is installed already (another call, or a test harness): keep it.
    return false;
  }
}

/** Logging only (tests, one-off commands). */
export function installTemporalLogging(logger: Logger): void {
  installTemporalRuntime(logger);
}
