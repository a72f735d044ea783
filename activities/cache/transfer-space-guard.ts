/**
 * Room for a transfer as it runs: each progress report reserves cache space (the total once the
 * origin says it, else the bytes so far, rounded up in steps), and a transfer that cannot get room
 * is aborted, keeping the `InsufficientSpaceError` as `failure` for the caller to report.
 */
import type { TransferProgress } from '../transports/transport.js';
import { InsufficientSpaceError } from './cache-index.js';

export interface TransferSpace {
  /** Bytes already reserved for this file (an earlier attempt's). */
  reserved: number;
  /** Step in which a write of unknown final size reserves ahead. */
  step: number;
  /** Reserve `bytes` in total for the file; throws `InsufficientSpaceError` when there is no room. */
  reserve(bytes: number): void;
}

export interface TransferSpaceGuard {
  /** Pass to the transfer: aborted on the caller's cancel or when room runs out. */
  readonly signal: AbortSignal;
  /** Set when room ran out (the transfer was aborted for it). */
  failure: InsufficientSpaceError | undefined;
  /** Pass to the transfer as its progress callback: reserves, then forwards. */
  onProgress(p: TransferProgress): void;
  /** Stop listening to the caller's signal (call when the transfer ends). */
  done(): void;
}

export function guardTransferSpace(
  space: TransferSpace,
  signal: AbortSignal,
  onProgress: (p: TransferProgress) => void,
): TransferSpaceGuard {
  const abort = new AbortController();
  const onCancel = (): void => abort.abort(signal.reason);
  signal.addEventListener('abort', onCancel, { once: true });
  let reserved = space.reserved;
  const roundUp = (bytesDone: number): number => Math.ceil(bytesDone / space.step) * space.step;
  const guard: TransferSpaceGuard = {
    signal: abort.signal,
    failure: undefined,
    onProgress: (p) => {
      const wanted = p.bytesTotal ?? (p.bytesDone > reserved ? roundUp(p.bytesDone) : reserved);
      if (wanted > reserved && !guard.failure) {
        try {
          space.reserve(wanted);
          reserved = wanted;
        } catch (err) {
          if (!(err instanceof InsufficientSpaceError)) throw err;
          guard.failure = err;
          abort.abort(err);
          return;
        }
      }
      onProgress(p);
    },
    done: () => signal.removeEventListener('abort', onCancel),
  };
  return guard;
}
