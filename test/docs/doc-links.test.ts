/**
 * The manual stays usable: every relative link in README.md and docs/ resolves (the file, and the
 * heading when the link names one), the README stays short, and the layout section of
 * docs/architecture.md lists exactly the folders of the tree (top level and one level below).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchors, layoutFolders, markdownLinks, sourcePathsNamed } from './markdown-reading.js';

const ROOT = resolve(import.meta.dirname, '../..');

function docFiles(): string[] {
  const out = [join(ROOT, 'README.md')];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) out.push(path);
    }
  };
  walk(join(ROOT, 'docs'));
  return out;
}

describe('README.md and docs/', () => {
  it('every relative link resolves to a file, and to a heading when it names one', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const { target, line } of markdownLinks(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // absolute URLs
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        const where = `${relative(ROOT, file)}:${line}: ${target}`;
        if (!existsSync(resolved)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) {
          broken.push(`${where} (no such heading in ${relative(ROOT, resolved)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every source file the docs name in code spans exists (so a moved file cannot leave the docs behind)', () => {
    const missing: string[] = [];
    for (const file of docFiles()) {
      for (const path of sourcePathsNamed(readFileSync(file, 'utf8'))) {
        if (!existsSync(join(ROOT, path))) missing.push(`${relative(ROOT, file)}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('README.md is at most 15 KB', () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThanOrEqual(15 * 1024);
  });

  it('each docs page starts with a title and then says what a reader comes to it for', () => {
    for (const file of docFiles()) {
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines[0], relative(ROOT, file)).toMatch(/^# \S/);
      const firstParagraph = lines.slice(1).find((l) => l.trim() !== '');
      expect(firstParagraph, relative(ROOT, file)).toBeDefined();
    }
  });

  it("the layout section of docs/architecture.md lists exactly the tree's folders", () => {
    const section = layoutFolders(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));
    // The tree as a fresh clone has it: folders holding tracked files (hidden folders left out).
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => existsSync(join(ROOT, f)));
    const tree = new Set<string>();
    for (const f of tracked) {
      const parts = f.split('/');
      if (parts.length > 1 && !parts[0]!.startsWith('.')) tree.add(`${parts[0]}/`);
      if (parts.length > 2 && !parts[0]!.startsWith('.')) tree.add(`${parts[0]}/${parts[1]}/`);
    }
    expect([...section].sort()).toEqual([...tree].sort());
  });
});
