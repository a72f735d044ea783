/**
 * Which members an imgexport bundle may hold: imgimport unpacks it as root on the management node,
 * so no member may be named, or link, outside the bundle. Pure.
 */
import { posix } from 'node:path';

export interface BundleMember {
  name: string;
  type?: string | null;
  linkname?: string | null;
}

const escapes = (path: string): boolean => path.startsWith('/') || path === '..' || path.startsWith('../');

/** Why `member` is refused, or undefined when it may be unpacked. */
export function bundleMemberProblem(member: BundleMember): string | undefined {
  const { name } = member;
  if (name.startsWith('/') || name.split('/').includes('..')) return `bundle member ${JSON.stringify(name)} escapes the bundle`;
  if (member.type !== 'symlink' && member.type !== 'link') return undefined;
  const target = member.linkname ?? '';
  if (target.startsWith('/')) return `bundle member ${JSON.stringify(name)} links outside the bundle (to the absolute path ${JSON.stringify(target)})`;
  // A symlink resolves from its own directory; a hard link's target is a member name.
  const resolved = posix.normalize(member.type === 'symlink' ? posix.join(posix.dirname(name), target) : target);
  if (escapes(resolved)) {
    return `bundle member ${JSON.stringify(name)} links outside the bundle (to ${JSON.stringify(target)})`;
  }
  return undefined;
}
