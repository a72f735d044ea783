import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoteCommand } from '../../../../activities/sites/xcat/shell-quote.js';

/** What a real POSIX shell makes of the quoted command line: its argv, NUL-separated. */
const shellArgv = (argv: string[]): string[] =>
  execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${quoteCommand(argv)}`]).toString().split('\0').slice(0, -1);

describe('shell quoting', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(quoteArg('/install/netboot/rhels8.6/x86_64')).toBe('/install/netboot/rhels8.6/x86_64');
    expect(quoteArg('osimage=a-b_c.d')).toBe('osimage=a-b_c.d');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
  });

  it('every hostile argument reaches the program as exactly itself', () => {
    const hostile = ['$(touch /tmp/x)', '`id`', 'a b', "x'y", '"q"', ';rm -rf /', '|&<>*?[]{}~#!', 'line\nbreak', '\\', '-n', "''", '$HOME'];
    expect(shellArgv(hostile)).toEqual(hostile);
  });

  it('runs in a directory when asked, and refuses NUL bytes and empty commands', () => {
    expect(quoteCommand(['imgimport', 'b.tgz'], { cwd: '/a b' })).toBe("cd '/a b' && imgimport b.tgz");
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => quoteCommand([])).toThrow(/empty/);
  });
});
