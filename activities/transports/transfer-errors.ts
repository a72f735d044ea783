/** Transport failures with stable types, so retry policies can classify them (plain errors: no Temporal here). */
import { ErrorType, ImageProxyError } from '../../common/errors.js';

/** A fault of the network or the origin that a later attempt may get past. */
export function transferInterrupted(message: string, cause?: Error): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.TransferInterrupted, message, ...(cause ? { cause } : {}) });
}

/** The origin refused the request in a way no retry changes (404, 403, …). */
export function originRejected(message: string): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.OriginRejected, message, nonRetryable: true });
}

export function urlNotAllowed(message: string): ImageProxyError {
  return new ImageProxyError({ type: ErrorType.UrlNotAllowed, message, nonRetryable: true });
}
