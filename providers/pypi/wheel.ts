/**
 * Wheel contents: https://packaging.python.org/en/latest/specifications/binary-distribution-format/
 * The metadata lives in the single top-level `{name}-{version}.dist-info/` directory, which
 * also holds WHEEL and RECORD. Like pip, find that directory rather than rebuilding its name
 * from the file name, and require exactly one (pip refuses wheels with several).
 */
import { InvalidPackageError } from '../../src/core/errors';
import { normalizeName } from './names';
import { readZipMember, scanZip } from './zip';

/** Bound on the METADATA / PKG-INFO we buffer (long descriptions included). */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export interface WheelContents {
  /** `{name}-{version}.dist-info` as stored. */
  distInfoDir: string;
  /** METADATA, byte for byte (served as the PEP 658 `.metadata` file). */
  metadata: Buffer;
}

/** `x.dist-info/...` -> `x.dist-info`, for top-level dist-info members only. */
function topDistInfo(name: string): string | null {
  const slash = name.indexOf('/');
  if (slash < 0) return null;
  const top = name.slice(0, slash);
  return top.endsWith('.dist-info') ? top : null;
}

/** Check the wheel's layout and read its METADATA. */
export async function readWheel(path: string, fileSize: number, what: string): Promise<WheelContents> {
  const { zip, names, kept } = await scanZip(path, fileSize, what, (n) => /^[^/]+\.dist-info\/METADATA$/.test(n));
  try {
    const dirs = new Set<string>();
    for (const n of names) {
      const d = topDistInfo(n);
      if (d) dirs.add(d);
    }
    if (dirs.size === 0) throw new InvalidPackageError(`${what} is not a wheel: it has no top-level *.dist-info directory`);
    if (dirs.size > 1) throw new InvalidPackageError(`${what} has ${dirs.size} .dist-info directories (${[...dirs].sort().join(', ')}); a wheel has exactly one`);
    const distInfoDir = [...dirs][0]!;
    const entry = kept.get(`${distInfoDir}/METADATA`);
    if (!entry) throw new InvalidPackageError(`${what} has no ${distInfoDir}/METADATA`);
    // pip cannot install a wheel without these two; PyPI refuses the upload too.
    for (const required of ['WHEEL', 'RECORD']) {
      if (!names.has(`${distInfoDir}/${required}`)) throw new InvalidPackageError(`${what} has no ${distInfoDir}/${required}`);
    }
    const metadata = await readZipMember(zip, entry, MAX_METADATA_BYTES, what);
    return { distInfoDir, metadata };
  } finally {
    zip.close();
  }
}

/** Project name part of `{name}-{version}.dist-info`, normalized. */
export function distInfoProject(distInfoDir: string): string {
  const stem = distInfoDir.slice(0, -'.dist-info'.length);
  const dash = stem.indexOf('-');
  return normalizeName(dash < 0 ? stem : stem.slice(0, dash));
}
