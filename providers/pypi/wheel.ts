/**
 * Wheel contents: https://packaging.python.org/en/latest/specifications/binary-distribution-format/
 * The metadata lives in the single top-level `{name}-{version}.dist-info/` directory, which
 * also holds WHEEL and RECORD. Like pip, find that directory rather than rebuilding its name
 * from the file name, and require exactly one (pip refuses wheels with several).
 */
import { InvalidPackageError } from '../../src/core/errors';
import { normalizeName } from './names';
import { readZipMember, scanZip, verifyMembers } from './zip';

/** Bound on the METADATA / PKG-INFO we buffer (long descriptions included). */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/** RECORD lists one line per file (~100 bytes each): 64 MiB covers the 200 000-member cap. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** One RECORD row: CSV (Python's csv module, excel dialect), fields path, hash, size. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
        } else break;
      }
    } else {
      const c = line.indexOf(',', i);
      field = c < 0 ? line.slice(i) : line.slice(i, c);
      i = c < 0 ? line.length : c;
    }
    out.push(field);
    if (i >= line.length) return out;
    if (line[i] !== ',') throw new Error('text after a quoted field');
    i++;
  }
}

/**
 * RECORD hashes (binary distribution format, "The .dist-info directory"; PEP 376/627):
 * `path,sha256=<urlsafe-base64 digest without padding>,size`. Each listed hash must match the
 * member (installers verify them and tools that repack wheels trust them); RECORD itself and
 * signature files are listed without a hash.
 */
export function checkRecord(text: string, digests: Map<string, string>, what: string): void {
  let lineNo = 0;
  for (const raw of text.split(/\r?\n/)) {
    lineNo++;
    if (raw === '') continue;
    let fields: string[];
    try {
      fields = parseCsvLine(raw);
    } catch (e) {
      throw new InvalidPackageError(`${what} line ${lineNo} is not valid CSV: ${(e as Error).message}`);
    }
    const [file, hash, size] = fields;
    if (!file) throw new InvalidPackageError(`${what} line ${lineNo} has no path`);
    if (!hash) continue;
    const m = /^([A-Za-z0-9_]+)=([A-Za-z0-9_-]+)$/.exec(hash);
    if (!m) throw new InvalidPackageError(`${what} line ${lineNo}: malformed hash "${hash.slice(0, 80)}"`);
    if (m[1] !== 'sha256') continue; // the spec requires sha256 or stronger; others are not checked here
    const actual = digests.get(file);
    if (actual === undefined) throw new InvalidPackageError(`${what} lists "${file}", which the wheel does not contain`);
    if (actual !== m[2]) throw new InvalidPackageError(`${what}: "${file}" does not match its sha256 in RECORD`);
    if (size && !/^[0-9]+$/.test(size)) throw new InvalidPackageError(`${what} line ${lineNo}: malformed size "${size.slice(0, 40)}"`);
  }
}

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
  const { zip, names, kept, entries } = await scanZip(path, fileSize, what, (n) => /^[^/]+\.dist-info\/(METADATA|RECORD)$/.test(n));
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
    // Every member, not only METADATA: a wheel pip cannot unpack must not be served.
    const digests = await verifyMembers(zip, entries, what);
    const recordEntry = kept.get(`${distInfoDir}/RECORD`)!;
    const record = await readZipMember(zip, recordEntry, MAX_RECORD_BYTES, what);
    checkRecord(record.toString('utf8'), digests, `${what}: ${distInfoDir}/RECORD`);
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
