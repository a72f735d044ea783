/** Transport failures as Temporal failures with stable types, so retry policies can classify them. */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../common/errors.js';

/** A fault of the network or the origin that a later attempt may get past. */
export function transferInterrupted(message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.TransferInterrupted, message, cause });
}

/** The origin refused the request in a way no retry changes (404, 403, …). */
export function originRejected(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.OriginRejected, message, nonRetryable: true });
}

export function urlNotAllowed(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.UrlNotAllowed, message, nonRetryable: true });
}
