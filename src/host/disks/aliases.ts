import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

// UUIDs change when a filesystem is created, so they are useless as stable disk identities.
// by-diskseq numbers change across reboots (newer udev), so they would match the wrong disk after one; the original
// predates them and only skipped by-uuid and by-partuuid.
const EXCLUDED_DIRS = new Set(['by-uuid', 'by-partuuid', 'by-diskseq']);
const MAX_LINK_HOPS = 40;

/** Host path of a virtual absolute path under `root` ('/' on the real host, a temp dir in tests). */
export function hostPath(root: string, virtualPath: string): string {
  return posix.join(root, virtualPath);
}

/** real device path → sorted symlink paths, from every /dev/disk/<kind> directory except the UUID ones. */
export async function readAliasMap(root: string): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  const kinds = await listDir(hostPath(root, '/dev/disk'));
  for (const kind of kinds) {
    if (!kind.isDirectory() || EXCLUDED_DIRS.has(kind.name)) continue;
    const directory = `/dev/disk/${kind.name}`;
    for (const link of await listDir(hostPath(root, directory))) {
      if (!link.isSymbolicLink()) continue;
      const symlink = `${directory}/${link.name}`;
      const real = await resolveLink(root, symlink);
      const list = map.get(real) ?? [];
      list.push(symlink);
      map.set(real, list);
    }
  }
  for (const list of map.values()) list.sort();
  return map;
}

async function listDir(path: string) {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
    throw error;
  }
}

// Resolved textually inside `root` (not fs.realpath) so absolute link targets stay inside a fake tree and dangling
// links still yield their target, like Python's non-strict os.path.realpath.
async function resolveLink(root: string, virtualPath: string): Promise<string> {
  let current = virtualPath;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    let target: string;
    try {
      target = await readlink(hostPath(root, current));
    } catch (error) {
      if (isErrno(error, 'EINVAL') || isErrno(error, 'ENOENT')) return current;
      throw error;
    }
    current = posix.isAbsolute(target) ? posix.normalize(target) : posix.resolve(posix.dirname(current), target);
    const stat = await lstat(hostPath(root, current)).catch(() => null);
    if (stat === null || !stat.isSymbolicLink()) return current;
  }
  throw new Error(`Too many levels of symbolic links resolving ${virtualPath}`);
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
