/**
 * The one place that decides how a process reaches Temporal. Settings come as Temporal's own tools
 * read them (`@temporalio/envconfig`): the TOML profile file (`TEMPORAL_CONFIG_FILE`, else
 * `~/.config/temporalio/temporal.toml`, profile `TEMPORAL_PROFILE` or `default`), overridden by
 * `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_*`.
 * So whatever works for the `temporal` CLI works for the ImageProxy CLI, workers and front.
 */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** Resolved settings, ready for `Connection` or `NativeConnection`. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Absent: plain gRPC. `true`: TLS with the system's CAs. */
  tls?: TLSConfig | true;
  apiKey?: string;
  metadata?: Record<string, string>;
  /** True when the address came from the environment or a profile, not from the default. */
  addressConfigured: boolean;
}

export interface TemporalSettingsOptions {
  /** Wins over the environment and the profile (e.g. the dev server this process started). */
  address?: string;
  namespace?: string;
  /** Ignore the environment and the profile file: plain gRPC to `address` (our own dev server). */
  plain?: boolean;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Read the settings as Temporal's tools do. Throws, naming the file, when the profile file is bad. */
export function temporalSettings(options: TemporalSettingsOptions = {}): TemporalSettings {
  const env = options.env ?? process.env;
  const profileOf = (): ReturnType<typeof loadClientConfigProfile> => {
    if (options.plain) return {};
    try {
      return loadClientConfigProfile({ overrideEnvVars: definedOnly(env) });
    } catch (err) {
      const where = env.TEMPORAL_CONFIG_FILE ?? '~/.config/temporalio/temporal.toml';
      throw new Error(`cannot read the Temporal profile ${env.TEMPORAL_PROFILE ?? 'default'} from ${where}: ${(err as Error).message}`);
    }
  };
  const profile = profileOf();
  const { connectionOptions, namespace } = toClientOptions(profile);
  const tls = connectionOptions.tls;
  return {
    address: options.address ?? connectionOptions.address ?? DEFAULT_ADDRESS,
    namespace: options.namespace ?? namespace ?? DEFAULT_NAMESPACE,
    ...(tls ? { tls } : {}),
    ...(connectionOptions.apiKey !== undefined && typeof connectionOptions.apiKey === 'string' ? { apiKey: connectionOptions.apiKey } : {}),
    ...(profile.grpcMeta ? { metadata: profile.grpcMeta } : {}),
    addressConfigured: options.address !== undefined || profile.address !== undefined,
  };
}

/** What the settings say about security, for messages (never the key or certificate itself). */
export function describeSettings(s: TemporalSettings): string {
  const tls = !s.tls ? 'plain gRPC' : s.tls === true || !s.tls.clientCertPair ? 'TLS' : 'mTLS (client certificate)';
  return `${s.address} (namespace ${s.namespace}, ${tls}${s.apiKey ? ', API key' : ''})`;
}

function connectionOptionsOf(s: TemporalSettings): { address: string; tls?: TLSConfig | true; apiKey?: string; metadata?: Record<string, string> } {
  return {
    address: s.address,
    ...(s.tls ? { tls: s.tls } : {}),
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  };
}

/** A connection failed: the message names the address, the security in use and the cause. */
export class TemporalConnectError extends Error {
  override readonly name = 'TemporalConnectError';
  constructor(
    readonly settings: TemporalSettings,
    cause: unknown,
  ) {
    const text = causeText(cause);
    const hint = hintFor(settings, text);
    super(`cannot connect to Temporal at ${describeSettings(settings)}: ${text}${hint ? ` (${hint})` : ''}`, { cause });
  }
}

/**
 * What a bare HTTP status from a TLS front most likely means, given what this process sent (a
 * proxy such as nginx answers 400 to a missing client certificate and 403 to a refused key).
 */
function hintFor(s: TemporalSettings, cause: string): string | undefined {
  const tlsWithoutCert = s.tls && (s.tls === true || !s.tls.clientCertPair);
  if (/(HTTP status code|status:) 400\b/.test(cause) && tlsWithoutCert) {
    return 'the TLS front refused the request and no client certificate was sent: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or tls.client_cert_path/client_key_path in the profile';
  }
  if (/(HTTP status code|status:) 40[13]\b/.test(cause)) {
    return s.apiKey ? 'the API key was refused (TEMPORAL_API_KEY or api_key in the profile)' : 'access refused and no API key was sent (TEMPORAL_API_KEY)';
  }
  return undefined;
}

function causeText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/** A client (CLI, HTTP front). `connectTimeoutMs` bounds how long a wrong setting takes to fail. */
export async function connectClient(
  settings: TemporalSettings,
  connectTimeoutMs = 10_000,
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptionsOf(settings), connectTimeout: connectTimeoutMs });
  } catch (err) {
    throw new TemporalConnectError(settings, err);
  }
  return { client: new Client({ connection, namespace: settings.namespace }), connection };
}

/**
 * The one native connection of a worker process, shared by all its workers and its client. The
 * worker SDK is loaded only here, so commands that never run a worker do not pay for it.
 */
export async function connectWorkerConnection(settings: TemporalSettings): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect(connectionOptionsOf(settings));
  } catch (err) {
    throw new TemporalConnectError(settings, err);
  }
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  // An empty variable counts as unset (as in shells: TEMPORAL_ADDRESS= imageproxy dev).
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
