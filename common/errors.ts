/**
 * Stable failure types. Activities throw `ApplicationFailure`s with one of these as `type`,
 * so retry policies, the workflow and tests can tell failures apart without parsing text.
 * The layers below the activities (transports, cache, images, sites) know no Temporal: they throw
 * `ImageProxyError`, and the activity boundary (activities/application-failure-of.ts) turns it
 * into the `ApplicationFailure`. Workflow-safe.
 */
export const ErrorType = {
  /** The request itself is malformed (GUID, site, URL). Never retried. */
  InvalidRequest: 'InvalidRequest',
  /** The metadata file's SHA-1 is not the GUID. Never retried. */
  MetadataHashMismatch: 'MetadataHashMismatch',
  /** The metadata file is not a valid image list. Never retried. */
  MalformedMetadata: 'MalformedMetadata',
  /** Downloaded bytes do not match the signature in the metadata. Never retried. */
  PartHashMismatch: 'PartHashMismatch',
  /** The origin answered a client error (4xx other than 408/429). Never retried. */
  OriginRejected: 'OriginRejected',
  /** A URL scheme or host that is not allowed. Never retried. */
  UrlNotAllowed: 'UrlNotAllowed',
  /** A compressed filesystem that cannot be unpacked into an image. Never retried. */
  BadArchive: 'BadArchive',
  /** The site refused the image for a reason a retry will not fix. Never retried. */
  SiteRejected: 'SiteRejected',
  /** The worker's configuration does not allow this (unknown site, missing option). Never retried. */
  Misconfigured: 'Misconfigured',
  /** A .torrent file or magnet link that is malformed, or a multi-file torrent whose URL names no file of it. Never retried. */
  BadTorrent: 'BadTorrent',
  /** A transfer ended early or failed on the network. Retried, resumed. */
  TransferInterrupted: 'TransferInterrupted',
  /** The site could not be reached or answered an error that may pass. Retried. */
  SiteUnavailable: 'SiteUnavailable',
  /**
   * The host's cache quota has no room: everything evictable is held by running registrations.
   * Retried for `cache.spaceWaitMs` (holders finish and release room), then the run fails with it;
   * a later request tries again. Not in the non-retryable list: the activity decides when to stop.
   */
  InsufficientCacheSpace: 'InsufficientCacheSpace',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failure types that no retry can fix; activity retry policies list these. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorType.InvalidRequest,
  ErrorType.MetadataHashMismatch,
  ErrorType.MalformedMetadata,
  ErrorType.PartHashMismatch,
  ErrorType.OriginRejected,
  ErrorType.UrlNotAllowed,
  ErrorType.BadArchive,
  ErrorType.SiteRejected,
  ErrorType.Misconfigured,
  ErrorType.BadTorrent,
];

/** What an `ImageProxyError` carries. */
export interface ImageProxyErrorInit {
  type: ErrorType;
  message: string;
  /** No retry can fix it. @default false */
  nonRetryable?: boolean;
  /** When retryable: how long to wait before the next attempt (instead of the retry policy's backoff). */
  retryAfterMs?: number;
  cause?: Error;
}

/**
 * A classified failure, thrown below the activities (transports, cache, images, sites): its stable
 * `type` and whether a retry may help. The activity that sees it throws it on as the
 * `ApplicationFailure` of the same type, message and retryability.
 */
export class ImageProxyError extends Error {
  override readonly name: string = 'ImageProxyError';
  readonly type: ErrorType;
  readonly nonRetryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(init: ImageProxyErrorInit) {
    super(init.message, init.cause ? { cause: init.cause } : undefined);
    this.type = init.type;
    this.nonRetryable = init.nonRetryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
  }
}
