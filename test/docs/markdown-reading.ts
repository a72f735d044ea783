/** Reading the parts of Markdown the docs checks need: links, heading anchors, the layout block. Pure. */

/** Inline links and images `[text](target)` outside code, with their line numbers. */
export function markdownLinks(text: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  let inFence = false;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*```/.test(raw)) inFence = !inFence;
    if (inFence) return;
    const line = raw.replace(/`[^`]*`/g, ''); // inline code is not a link
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const m = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/**
 * The folders named in the code block under `## Layout`: `name/` at the start of a line is a
 * top-level folder, `  name/` (two spaces) a folder inside the last top-level one; deeper-indented
 * lines continue a description. Answers `top/` and `top/sub/`.
 */
export function layoutFolders(text: string): Set<string> {
  const start = text.indexOf('\n## Layout');
  if (start < 0) throw new Error('no "## Layout" section');
  const fence = text.indexOf('```', start);
  const end = text.indexOf('```', fence + 3);
  const block = text.slice(text.indexOf('\n', fence) + 1, end);
  const folders = new Set<string>();
  let top = '';
  for (const line of block.split('\n')) {
    const t = /^([\w.-]+)\/(\s|$)/.exec(line);
    if (t) {
      top = t[1]!;
      folders.add(`${top}/`);
      continue;
    }
    const s = /^ {2}([\w.-]+)\/(\s|$)/.exec(line);
    if (s && top) folders.add(`${top}/${s[1]}/`);
  }
  return folders;
}

/** Paths of source files named in inline code, e.g. `activities/download-part.ts` (a `:line` suffix dropped). */
export function sourcePathsNamed(text: string): Set<string> {
  const paths = new Set<string>();
  const top = '(?:activities|bench|bin|client|common|config|scripts|test|workers|workflows|vendor)';
  for (const m of text.matchAll(new RegExp(`\`(${top}/[\\w./-]+\\.(?:ts|js|sh|pl|json))(?::\\d+)?\``, 'g'))) paths.add(m[1]!);
  return paths;
}
