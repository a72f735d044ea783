/**
 * The errors the client throws, and the checks and translation that make them: a request refused
 * before any I/O (`InvalidRequestError`), or a registration that failed (`RegistrationFailedError`,
 * its message the deepest application failure's).
 */
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { guidProblem, isSiteName } from '../common/guid.js';
import type { RegisterImageInput } from '../common/register-contract.js';

export class InvalidRequestError extends Error {
  override readonly name: string = 'InvalidRequestError';
}

/** Deregistration asked while a registration of the same (site, GUID) runs. */
export class RegistrationRunningError extends InvalidRequestError {
  override readonly name = 'RegistrationRunningError';
}

/** A registration failed; `message` says why, `cause` holds the Temporal failure chain. */
export class RegistrationFailedError extends Error {
  override readonly name = 'RegistrationFailedError';
  constructor(
    readonly guid: string,
    readonly site: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function validateTarget(guid: string, site: string): void {
  const problem = guidProblem(guid);
  if (problem) throw new InvalidRequestError(problem);
  if (!isSiteName(site)) throw new InvalidRequestError(`not a site name: ${JSON.stringify(site)}`);
}

export function validate(request: RegisterImageInput): void {
  validateTarget(request.guid, request.site);
  if (typeof request.url !== 'string' || !URL.canParse(request.url)) {
    throw new InvalidRequestError(`metadata URL is not an absolute URL: ${JSON.stringify(request.url)}`);
  }
}

/** The deepest application failure says what went wrong (the layers above say where). */
export function asRegistrationError(guid: string, site: string, err: unknown): Error {
  if (!(err instanceof WorkflowFailedError)) return err as Error;
  let message = err.message;
  for (let cause: unknown = err.cause; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure || !(cause.cause instanceof Error)) {
      message = cause.message;
      if (cause instanceof ApplicationFailure) break;
    }
  }
  return new RegistrationFailedError(guid, site, `registration of ${guid} at ${site} failed: ${message}`, { cause: err });
}
