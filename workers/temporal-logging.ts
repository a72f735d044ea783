/** The Temporal SDK's own log lines (worker state changes, …) through the process logger. */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

/**
 * Route the SDK's log lines through `logger`, from warnings up unless `TEMPORAL_LOG_LEVEL` says
 * otherwise. Only the first call in a process counts.
 */
export function installTemporalLogging(logger: Logger): void {
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        const { message, meta } = entry;
        if (message.startsWith('No workflows registered')) return; // host queues run activities only
        const fn = entry.level === 'ERROR' ? logger.error : entry.level === 'WARN' ? logger.warn : logger.info;
        fn.call(logger, { sdk: meta ?? {} }, message);
      }),
    });
  } catch {
    // A runtime is installed already (another call, or a test harness): keep it.
  }
}
