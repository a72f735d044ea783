/**
 * What the Temporal UI shows for a run: its one-line summary and Markdown details (set when the run
 * starts), its current details (kept up to date by the workflow), and one summary line per
 * activity call. Pure string work, workflow-safe; URLs are shown without user-info or query string,
 * which may carry credentials.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { formatBytes } from '../config/byte-size.js';
import { PART_SOURCE_WORDS, type ContentHash, type ImageIds, type ImagePart, type PartSource, type PartType } from './image-types.js';
import { ImageSummaryKey } from './register-contract.js';

/** Temporal shows at most this much of a summary; we keep under it in UTF-8 bytes. */
export const SUMMARY_MAX_BYTES = 200;

/** The first 8 hex digits of a GUID: enough to tell images apart in a list. */
export function shortGuid(guid: string): string {
  return guid.slice(0, 8);
}

/** `http://user:pw@host/a/b.xml?sig=…` → `http://host/a/b.xml?…`. */
export function urlShown(url: string): string {
  const noUser = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
  const cut = noUser.search(/[?#]/);
  return cut < 0 ? noUser : `${noUser.slice(0, cut)}${noUser[cut] === '?' ? '?…' : ''}`;
}

/** The host of a URL (`images.example.org`), or the scheme for those without one (`magnet`). */
export function hostOf(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#:]+|\[[^\]]+\])/i.exec(url);
  if (m?.[1]) return m[1];
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? 'unknown origin';
}

/** The file name at the end of a URL's path (`ubuntu-22.04.xml`), or the shown URL when there is none. */
export function fileNameOf(url: string): string {
  const path = urlShown(url).replace(/\?…$/, '');
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name) || path;
  } catch {
    return name || path;
  }
}

/** Cut `text` to at most `max` UTF-8 bytes, ending in `…` when cut. */
export function fitBytes(text: string, max = SUMMARY_MAX_BYTES): string {
  if (utf8Length(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (utf8Length(out + ch) + 3 > max) break;
    out += ch;
  }
  return `${out}…`;
}

function utf8Length(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

function sitesShown(sites: readonly string[]): string {
  return sites.length <= 3 ? sites.join(', ') : `${sites.slice(0, 3).join(', ')} +${sites.length - 3} more`;
}

// ── Summaries and details set when a run starts ────────────────────────────────────────────────

export interface ImageRunTarget {
  url: string;
  guid: string;
  sites: readonly string[];
  mode?: 'register' | 'prefetch';
}

/** `register ubuntu-22.04.xml → cloud-a · 517ed2b0`. */
export function imageRunSummary(t: ImageRunTarget): string {
  return fitBytes(`${t.mode ?? 'register'} ${fileNameOf(t.url)} → ${sitesShown(t.sites)} · ${shortGuid(t.guid)}`);
}

export function imageRunDetails(t: ImageRunTarget): string {
  return [
    `**${t.mode === 'prefetch' ? 'Prefetch into the cache of' : 'Register at'}** ${t.sites.map((s) => `\`${s}\``).join(', ')}`,
    '',
    `- Metadata: ${urlShown(t.url)}`,
    `- GUID (SHA-1 of the metadata file): \`${t.guid}\``,
    '',
    'Parts, sizes and hashes appear in the current details once the metadata is read.',
  ].join('\n');
}

/**
 * What a workflow is started with, for the UI: a one-line summary and Markdown details, and the
 * summary again as the `ImageSummary` search attribute, which the UI's workflow list can show.
 */
export interface RunText {
  staticSummary: string;
  staticDetails: string;
  typedSearchAttributes: SearchAttributePair[];
}

function runText(staticSummary: string, staticDetails: string): RunText {
  return { staticSummary, staticDetails, typedSearchAttributes: [{ key: ImageSummaryKey, value: staticSummary }] };
}

/** For a registration, prefetch or distribution of an image. */
export function imageRunText(t: ImageRunTarget): RunText {
  return runText(imageRunSummary(t), imageRunDetails(t));
}

export function deregisterRunText(guid: string, site: string): RunText {
  return runText(deregisterSummary(guid, site), targetDetails({ Operation: 'deregister', GUID: `\`${guid}\``, Site: `\`${site}\`` }));
}

export function provisionRunText(guid: string, site: string, nodes: readonly string[]): RunText {
  return runText(
    provisionSummary(guid, site, nodes),
    targetDetails({ Operation: 'provision nodes (nodeset)', GUID: `\`${guid}\``, Site: `\`${site}\``, Nodes: nodes.join(', ') }),
  );
}

export function cleanUpRunText(site: string, cutoff: { olderThanDays?: number; notRequestedSince?: string }, dryRun?: boolean): RunText {
  return runText(
    cleanUpSummary(site, cutoff, dryRun),
    targetDetails({
      Operation: 'clean-up of cloud images (collectGarbage)',
      Site: `\`${site}\``,
      'Not requested': cutoff.notRequestedSince ? `since ${cutoff.notRequestedSince}` : `for ${cutoff.olderThanDays ?? '?'} days`,
      'Dry run': dryRun ? 'yes: nothing is removed' : 'no',
    }),
  );
}

/** `deregister 517ed2b0 from cloud-a`. */
export function deregisterSummary(guid: string, site: string): string {
  return fitBytes(`deregister ${shortGuid(guid)} from ${site}`);
}

/** `provision 517ed2b0 at rack1 on cn01, cn02`. */
export function provisionSummary(guid: string, site: string, nodes: readonly string[]): string {
  return fitBytes(`provision ${shortGuid(guid)} at ${site} on ${sitesShown(nodes)}`);
}

/** `clean up cloud-a: images not requested for 30 days`. */
export function cleanUpSummary(site: string, cutoff: { olderThanDays?: number; notRequestedSince?: string }, dryRun?: boolean): string {
  const which = cutoff.notRequestedSince ? `since ${cutoff.notRequestedSince}` : `for ${cutoff.olderThanDays ?? '?'} days`;
  return fitBytes(`clean up ${site}: images not requested ${which}${dryRun ? ' (dry run)' : ''}`);
}

function targetDetails(lines: Record<string, string>): string {
  return Object.entries(lines)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
}

// ── Activity summaries ──────────────────────────────────────────────────────────────────────────

/** `download FILESYSTEM from images.example.org` (+ size when a retry already knows it). */
export function downloadSummary(part: ImagePart, size?: number): string {
  return fitBytes(`download ${part.type}${size !== undefined ? ` ${formatBytes(size)}` : ''} from ${hostOf(part.url)}`);
}

/** `register 3 parts (8.2 GiB) at cloud-a`. */
export function registerPartsSummary(parts: readonly { type: PartType; size: number }[], site: string): string {
  const bytes = parts.reduce((n, p) => n + p.size, 0);
  return fitBytes(`register ${parts.length} part${parts.length === 1 ? '' : 's'} (${parts.map((p) => p.type).join(', ')}, ${formatBytes(bytes)}) at ${site}`);
}

// ── Current details, rewritten at each stage ─────────────────────────────────────────────────────

export interface PartState {
  type: PartType;
  url: string;
  hash: ContentHash;
  /** Known once the part is in the cache. */
  size?: number;
  /** Where the host took it from, once in the cache. */
  from?: PartSource;
}

export interface RunState {
  stage: string;
  site: string;
  parts: readonly PartState[];
  ids?: ImageIds;
  error?: string;
  alreadyRegistered?: boolean;
  /** What the run waits for before its turn on (site, GUID) (common/image-turn.ts). */
  waiting?: string;
  /** What is being retried (common/retry-notice.ts). */
  retrying?: string;
}

export function registerCurrentDetails(s: RunState): string {
  const done = s.parts.filter((p) => p.size !== undefined).length;
  const lines = [`**Stage:** ${s.stage}${s.parts.length > 0 ? ` · parts in the cache: ${done} of ${s.parts.length}` : ''}`];
  if (s.waiting) lines.push('', `**Waiting:** ${s.waiting}`);
  if (s.retrying) lines.push('', `**Retrying:** ${s.retrying}`);
  if (s.error) lines.push('', `**Failed:** ${s.error}`);
  if (s.ids) {
    lines.push('', `**Ids at ${s.site}**${s.alreadyRegistered ? ' (already registered)' : ''}:`, '');
    for (const [k, v] of Object.entries(s.ids)) lines.push(`- ${k}: \`${v}\``);
  }
  if (s.parts.length > 0) {
    // A list, not a table: full hashes and URLs wrap in the UI's narrow panel.
    lines.push('', '**Parts:**', '');
    for (const p of s.parts) {
      const size = p.size !== undefined ? `${formatBytes(p.size)}${p.from ? ` from ${PART_SOURCE_WORDS[p.from]}` : ''}` : 'downloading…';
      lines.push(`- **${p.type}** · ${size} · ${p.hash.algorithm}:${p.hash.hex} · ${urlShown(p.url)}`);
    }
  }
  if (s.stage === 'download') lines.push('', 'Bytes done per part: the pending activities below (heartbeat details).');
  return lines.join('\n');
}
