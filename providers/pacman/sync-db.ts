/**
 * Reading an upstream sync database (`<repo>.db`) for a remote repository: the `%FILENAME%`,
 * `%SHA256SUM%` and `%PGPSIG%` of each `<name>-<version>/desc` (docs/formats/pacman.md#database-entries),
 * so every package file it names can be linked to its sha256. Bounded like a package: the
 * decompressed size, the ratio, the number of entries and the size of one desc.
 */
import { InvalidPackageError } from '../../src/core/errors';
import { readTar } from '../../src/util/tar';
import { DEFAULT_LIMITS, openTarBuffer, type ArchiveLimits } from './archive';

export interface SyncDbLimits extends ArchiveLimits {
  maxEntries: number;
  maxDesc: number;
}

/** Arch's extra.db holds ~15 000 packages (two tar entries each); one desc is a few KiB. */
export const SYNC_DB_LIMITS: SyncDbLimits = { ...DEFAULT_LIMITS, maxDecompressed: 2 * 1024 ** 3, maxEntries: 1_000_000, maxDesc: 1024 * 1024 };

export interface SyncDbPackage {
  filename: string;
  /** Lowercase hex, when the db names one. */
  sha256: string | null;
  /** The binary detached signature embedded as %PGPSIG% (repo-add < 6.1, or --include-sigs). */
  signature: Buffer | null;
}

/** The `%KEY%` sections of a desc: key -> values (an empty line ends a section). */
export function descSections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let key: string | null = null;
  for (const line of text.split('\n')) {
    if (key === null) {
      const m = /^%([A-Z0-9]+)%$/.exec(line);
      if (m) {
        key = m[1]!;
        out.set(key, []);
      }
    } else if (line === '') key = null;
    else out.get(key)!.push(line);
  }
  return out;
}

/** libalpm rejects the whole db for a %FILENAME% that starts with `.` or holds `/` (be_sync.c); we skip control characters too. */
function usableFilename(name: string | undefined): name is string {
  return !!name && name.length <= 255 && !name.startsWith('.') && !/[/\\\u0000-\u001f\u007f]/.test(name);
}

export async function readSyncDb(data: Buffer, limits: SyncDbLimits = SYNC_DB_LIMITS): Promise<SyncDbPackage[]> {
  const out: SyncDbPackage[] = [];
  await readTar(openTarBuffer(data, limits, 'sync database'), {
    what: 'sync database',
    maxEntries: limits.maxEntries,
    maxBuffered: limits.maxDesc,
    want: (e) => e.type === 'file' && /^[^/]+\/desc$/.test(e.name),
    onEntry: async (e, desc) => {
      if (!desc) return;
      const s = descSections(desc.toString('utf8'));
      const filename = s.get('FILENAME')?.[0];
      if (!usableFilename(filename)) throw new InvalidPackageError(`sync database: ${e.name} has no usable %FILENAME%`);
      const sha = s.get('SHA256SUM')?.[0]?.toLowerCase();
      const sig = s.get('PGPSIG')?.[0];
      out.push({ filename, sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : null, signature: sig && /^[A-Za-z0-9+/]+=*$/.test(sig) ? Buffer.from(sig, 'base64') : null });
    },
  });
  return out;
}
