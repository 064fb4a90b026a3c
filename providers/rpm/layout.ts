/**
 * Where things live under /repo/rpm/<repo>/ (baseurl = the repository root, or `<root>/<group>`
 * for one of several distributions served from one repository):
 *   [<group>/]repodata/repomd.xml, .asc, .key     the signed repository index
 *   [<group>/]repodata/<sha256>-primary.xml.gz    primary, filelists, other (checksum-named)
 *   [<group>/]Packages/<first letter>/<n>-<v>-<r>.<arch>.rpm   as createrepo_c's users lay them out
 *   pubkey, <repo>.repo, <group>/<repo>-<group>.repo
 */
import { z } from 'zod';

/** Partition of packages uploaded without `group` (a group name never contains '/'). */
export const ROOT_PARTITION = '/';

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
/** Names the layout uses at the repository root: a group of that name would shadow them. */
const RESERVED = new Set(['repodata', 'Packages', 'pubkey']);

export function isValidGroup(g: string): boolean {
  return GROUP.test(g) && !RESERVED.has(g) && !g.endsWith('.repo');
}

export const uploadParams = z.object({
  group: z
    .string()
    .refine((g) => g === '' || isValidGroup(g), {
      message: 'group must be 1-64 letters, digits, ".", "_", "+", "-", starting with a letter or digit (e.g. el9, fc40, opensuse-15.6), and not "repodata", "Packages", "pubkey" or a name ending in ".repo"',
    })
    .default(''),
}) as unknown as z.ZodType<Record<string, string>>;

export function partitionOf(group: string): string {
  return group === '' ? ROOT_PARTITION : group;
}

export function groupOf(partition: string): string {
  return partition === ROOT_PARTITION ? '' : partition;
}

/** The directory a group's baseurl points at, relative to the repository root ('' or 'el9/'). */
export function baseOf(group: string): string {
  return group === '' ? '' : `${group}/`;
}

/** One index scope per group: its repodata/. */
export function scopeOf(group: string): string {
  return `${baseOf(group)}repodata`;
}

export function groupOfScope(scope: string): string | null {
  if (scope === 'repodata') return '';
  const m = /^([^/]+)\/repodata$/.exec(scope);
  return m && isValidGroup(m[1]) ? m[1] : null;
}

/** `Packages/<first letter, lower case>/<file>` under the group's base. */
export function packagePath(group: string, name: string, filename: string): string {
  return `${baseOf(group)}Packages/${name[0].toLowerCase()}/${filename}`;
}

/** Data files are requested as `repodata/<sha256>-<type>.xml.gz`. */
const DATA_FILE = /^((?:[^/]+\/)?)repodata\/([0-9a-f]{64}-(?:primary|filelists|other)\.xml\.gz)$/;

/**
 * Where a data file is stored: under `repodata/by-hash/`, marked historic, so the files of the
 * retained older generations stay readable (the core serves historic index files from any
 * retained generation for paths with `/by-hash/`, src/http/repo-router.ts). A client that read
 * repomd.xml just before a publish then still gets the primary that repomd.xml names, instead
 * of a 404 that fails `dnf makecache`.
 */
export function storedDataPath(base: string, file: string): string {
  return `${base}repodata/by-hash/${file}`;
}

/** The inverse of dataFileRequest: where a client asks for a stored data file (static publishing). */
export function requestedDataPath(stored: string): string | null {
  const m = /^((?:[^/]+\/)?)repodata\/by-hash\/([0-9a-f]{64}-(?:primary|filelists|other)\.xml\.gz)$/.exec(stored);
  return m ? `${m[1]}repodata/${m[2]}` : null;
}

export function dataFileRequest(path: string): string | null {
  const m = DATA_FILE.exec(path);
  return m ? storedDataPath(m[1], m[2]) : null;
}
