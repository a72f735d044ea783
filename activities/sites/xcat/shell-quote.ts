/**
 * POSIX shell quoting of an argv, for the one string an SSH `exec` request carries. Pure.
 * Every argument that is not plainly safe is wrapped in single quotes (inside which a POSIX shell
 * interprets nothing); a single quote itself becomes `'\''`.
 */

const PLAIN = /^[A-Za-z0-9_./,:=@%+-]+$/;

export class UnquotableArgumentError extends Error {
  override readonly name = 'UnquotableArgumentError';
}

/** Quote one argument. A NUL byte cannot be passed through a shell at all, so it is refused. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new UnquotableArgumentError('an argument contains a NUL byte');
  if (PLAIN.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line for `argv`, optionally run in `cwd` (`cd DIR && argv…`; some xCAT commands,
 * imgimport among them, work in their current directory).
 */
export function quoteCommand(argv: readonly string[], opts: { cwd?: string } = {}): string {
  if (argv.length === 0) throw new UnquotableArgumentError('an empty command');
  const command = argv.map(quoteArg).join(' ');
  return opts.cwd === undefined ? command : `cd ${quoteArg(opts.cwd)} && ${command}`;
}
