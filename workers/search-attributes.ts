/**
 * The search attributes ImageProxy's workflows set (`ImageGuid`, `ImageSite`, `ImageStage`, `ImageSummary`, all
 * Keyword). `imageproxy setup` creates them through the operator service; a worker checks them
 * before it starts, because a missing one fails every workflow task instead of saying what to do.
 */
import proto from '@temporalio/proto'; // CommonJS: its namespaces come through the default export
import type { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES } from '../common/register-contract.js';

const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** The command that creates the attributes, as the refusal to start prints it. */
export const SETUP_COMMAND = 'imageproxy setup';

/** A worker's namespace lacks attributes it needs. */
export class MissingSearchAttributesError extends Error {
  override readonly name = 'MissingSearchAttributesError';
  constructor(
    readonly namespace: string,
    readonly missing: readonly string[],
  ) {
    super(
      `namespace ${namespace} lacks the search attributes ${missing.map((n) => `${n} (Keyword)`).join(', ')}; ` +
        `run \`${SETUP_COMMAND}\` once with the same TEMPORAL_* settings (or: temporal operator search-attribute create ` +
        `${missing.map((n) => `--name ${n} --type Keyword`).join(' ')} --namespace ${namespace})`,
    );
  }
}

/** A client `Connection` or a worker's `NativeConnection`: both carry the operator service. */
interface OperatorConnection {
  operatorService: temporal.api.operatorservice.v1.OperatorService;
}

/** Names among ours that the namespace does not have. */
export async function missingSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(customAttributes ?? {}));
  return SEARCH_ATTRIBUTE_NAMES.filter((n) => !have.has(n));
}

/** Throws `MissingSearchAttributesError` unless all are there. */
export async function requireSearchAttributes(connection: OperatorConnection, namespace: string): Promise<void> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length > 0) throw new MissingSearchAttributesError(namespace, missing);
}

/** Create the missing ones (idempotent); returns the names created, empty when nothing changed. */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])),
  });
  // Visibility picks new attributes up asynchronously; wait until they are listed.
  for (let i = 0; i < 50 && (await missingSearchAttributes(connection, namespace)).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 200));
  }
  return missing;
}
