/**
 * The process logger: one line per event on stderr, as JSON (for log collectors) or as a
 * human-readable line (on a terminal). `IMAGEPROXY_LOG_LEVEL` sets the level.
 */
import { destination, pino, type DestinationStream, type Logger } from 'pino';
import { humanLogLine } from './human-log-line.js';

export type LogFormat = 'human' | 'json';

/** Human lines on a terminal, JSON otherwise (pipes, files, journald). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY === true ? 'human' : 'json';
}

export function createLogger(level = process.env.IMAGEPROXY_LOG_LEVEL ?? 'info', format: LogFormat = defaultLogFormat()): Logger {
  const options = { level, base: { service: 'imageproxy' } };
  if (format === 'json') return pino(options, destination(2));
  const stderr = destination({ fd: 2, sync: true });
  const human: DestinationStream = { write: (line: string) => stderr.write(humanLogLine(line)) };
  return pino(options, human);
}
