import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { destination, pino, type Logger } from 'pino';

/** The process logger: JSON lines on stderr. `IMAGEPROXY_LOG_LEVEL` sets the level. */
export function createLogger(level = process.env.IMAGEPROXY_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'imageproxy' } }, destination(2));
}

/**
 * Route the Temporal SDK's own log lines (worker state changes, …) through `logger`, from
 * warnings up unless `TEMPORAL_LOG_LEVEL` says otherwise. Only the first call in a process counts.
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
