/**
 * Where a site credential could leak, as text to search: a workflow's history and description with
 * every payload decoded by the default data converter (inputs, results, memo, search attributes,
 * activity inputs and results, heartbeat details, failures and their causes), and the worker logs.
 * Searching raw history would not do: payloads there are bytes, and a secret in them is not found.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { expect } from 'vitest';
import type { World } from './image-proxy-world.js';

type PayloadLike = { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null };

const isPayload = (v: object): v is PayloadLike => 'data' in v && (v as PayloadLike).data instanceof Uint8Array && 'metadata' in v;

/** `value` with every payload replaced by its decoded value (or its bytes as text when not decodable). */
export function decodePayloads(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decodePayloads);
  if (typeof value !== 'object' || value === null) return value;
  if (isPayload(value)) {
    try {
      return { decoded: decodePayloads(defaultPayloadConverter.fromPayload(value as Parameters<typeof defaultPayloadConverter.fromPayload>[0])) };
    } catch {
      return { undecodable: Buffer.from(value.data!).toString('utf8') };
    }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodePayloads(v)]));
}

/** Every run of `workflowId` (a workflow id is reused by later requests), waiting for visibility to list `minRuns`. */
async function runIdsOf(world: World, workflowId: string, minRuns: number): Promise<string[]> {
  let runIds: string[] = [];
  await expect
    .poll(
      async () => {
        runIds = [];
        for await (const run of world.client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runIds.push(run.runId);
        return runIds.length;
      },
      { timeout: 15_000 },
    )
    .toBeGreaterThanOrEqual(minRuns);
  return runIds;
}

/** The decoded history and description of every run of each workflow, and the worker logs so far, as one text. */
export async function leakSurface(world: World, workflowIds: readonly string[], minRuns = 1): Promise<string> {
  const parts: string[] = [];
  for (const id of workflowIds) {
    for (const runId of await runIdsOf(world, id, minRuns)) {
      const handle = world.client.temporal.workflow.getHandle(id, runId);
      parts.push(JSON.stringify(decodePayloads(await handle.fetchHistory())));
      parts.push(JSON.stringify(decodePayloads((await handle.describe()).raw)));
    }
  }
  parts.push(world.logText());
  return parts.join('\n');
}

/** Fails naming which secret (by label, not value) was found where. */
export async function expectNoSecrets(world: World, workflowIds: readonly string[], secrets: Record<string, string>, minRuns = 1): Promise<void> {
  const surface = await leakSurface(world, workflowIds, minRuns);
  // The scan must see the payloads it claims to: each workflow's decoded input names its GUID in clear.
  expect(surface).toMatch(/"decoded":\{[^}]*"guid":"[0-9a-f]{40}"/);
  const found = Object.entries(secrets)
    .filter(([, secret]) => secret.length >= 8 && surface.includes(secret))
    .map(([label]) => label);
  expect(found, 'credentials found in history, description or worker logs').toEqual([]);
}
