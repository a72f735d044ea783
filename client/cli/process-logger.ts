/** The logger of a foreground command, in the format `--log-format` asks for (else by terminal). */
import type { Logger } from 'pino';
import type { CliContext } from './cli-context.js';

export async function processLogger(ctx: CliContext, level?: string): Promise<Logger> {
  const { createLogger, defaultLogFormat } = await import('../../workers/logger.js');
  const format = ctx.global.logFormat ?? defaultLogFormat({ isTTY: ctx.io.errIsTTY });
  return createLogger(level ?? ctx.io.env.IMAGEPROXY_LOG_LEVEL ?? 'info', format);
}
