/**
 * Reading a binary .deb (deb(5), docs/formats/apt.md#deb-file) in one bounded streaming pass:
 *   debian-binary ("2.x\n"), then control.tar[.gz|.xz|.zst], then data.tar.*,
 * with members named `_*` ignored between them. Only the head of data.tar is read: its
 * presence, declared size and compression are checked, its contents are not needed.
 */
import fs from 'node:fs';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { InvalidPackageError } from '../../src/core/errors';
import { byteLimit, decompressor, sniffCompression, type Compression } from '../../src/util/compression';
import { readTar } from '../../src/util/tar';
import { readAr, type ArMember } from './ar';
import { parseControl, type Control } from './control';
import { parseDebianVersion } from './version';

/** Decompressed control.tar cap: real ones are a few KiB, maintainer scripts included. */
export const CONTROL_TAR_MAX = 64 << 20;
/** Cap on the `control` file itself. */
export const CONTROL_FILE_MAX = 1 << 20;

const CONTROL_MEMBERS: Record<string, Compression> = {
  'control.tar': 'none',
  'control.tar.gz': 'gzip',
  'control.tar.xz': 'xz',
  'control.tar.zst': 'zstd',
};
// dpkg also reads bzip2 and lzma data members; we never decompress data.tar, so accept them.
const DATA_MEMBERS: Record<string, Compression | 'lzma'> = {
  'data.tar': 'none',
  'data.tar.gz': 'gzip',
  'data.tar.xz': 'xz',
  'data.tar.zst': 'zstd',
  'data.tar.bz2': 'bzip2',
  'data.tar.lzma': 'lzma',
};

// Debian Policy §5.6.1 (package names) and §5.6.8 (architecture names are used in paths).
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_NAME = /^[a-z0-9][a-z0-9-]*$/;

export interface DebPackage {
  control: Control;
  name: string;
  version: string;
  arch: string;
  /** Source package name (Source field without its "(version)"), else the package name. */
  source: string;
  controlMember: string;
  dataMember: string;
}

function checkMagic(m: ArMember, declared: Compression | 'lzma'): void {
  if (declared === 'lzma') return; // legacy .lzma has no reliable magic
  const actual = sniffCompression(m.head);
  if (actual !== declared) {
    throw new InvalidPackageError(`ar member "${m.name}" is named for ${declared} but its content looks like ${actual === 'none' ? 'uncompressed data' : actual}`);
  }
}

/**
 * Decompress control.tar (bounded) and return the bytes of its `./control`. The whole member
 * is read, as dpkg-deb does: damage anywhere in it (a corrupt header, a failing checksum of
 * the compression, truncation) is refused, and so is any control file present twice; dpkg
 * extracts the member in order, so the last copy wins, while a reader that stops at the first
 * `./control` would index something else than what dpkg installs.
 */
function readControlTar(body: Readable, kind: Compression, member: string): Promise<Buffer> {
  const limited = byteLimit(CONTROL_TAR_MAX, member);
  // pipeline destroys every stage with the first error, so a corrupt or exploding member
  // reaches readTar through `limited`; the callback's own error is reported by readTar.
  pipeline(body, decompressor(kind, { maxOutput: CONTROL_TAR_MAX, what: member }), limited, () => undefined);
  let control: Buffer | undefined;
  const seen = new Set<string>();
  return readTar(limited, {
    what: member,
    maxEntries: 10_000,
    maxBuffered: CONTROL_FILE_MAX,
    want: (e) => e.name === 'control' && e.type === 'file',
    // async: readTar only turns rejected promises (not synchronous throws) into errors.
    onEntry: async (e, data) => {
      const name = e.name.replace(/\/+$/, '');
      if (name === '' || name === '.') return; // the member's own "./" directory
      if (seen.has(name)) throw new InvalidPackageError(`${member} contains "./${name}" twice`);
      seen.add(name);
      if (name !== 'control') return;
      if (e.type !== 'file') throw new InvalidPackageError(`${member}: "./control" is a ${e.type}, not a regular file`);
      control = data;
    },
  }).then(
    () => {
      if (!control) throw new InvalidPackageError(`${member} has no ./control file`);
      return control;
    },
    (e: unknown) => {
      // Name the member in decompressor and tar errors ("gzip data is corrupt ..." alone does not say where).
      if (e instanceof InvalidPackageError && !e.message.includes(member)) throw new InvalidPackageError(`${member}: ${e.message}`);
      throw e;
    },
  );
}

function decodeUtf8(data: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new InvalidPackageError(`${what} is not valid UTF-8`);
  }
}

/** Read and validate a .deb at `localPath` (`size` bytes long, as received). */
export async function readDeb(localPath: string, size: number): Promise<DebPackage> {
  let state: 'start' | 'control' | 'data' | 'done' = 'start';
  let controlMember = '';
  let dataMember = '';
  let controlBytes: Promise<Buffer> | undefined;
  const input = fs.createReadStream(localPath);
  await readAr(input, 'the .deb', (m) => {
    if (state === 'start') {
      if (m.name !== 'debian-binary') throw new InvalidPackageError(`the first ar member must be "debian-binary", found "${m.name}"`);
      const text = m.size <= 16 ? m.head.toString('latin1') : '';
      if (!/^2\.[0-9]+\n/.test(text)) throw new InvalidPackageError(`debian-binary must contain "2.0\\n", found ${JSON.stringify(text.slice(0, 16))}`);
      state = 'control';
      return 'skip';
    }
    if (m.name.startsWith('_')) return 'skip';
    if (state === 'control') {
      const kind = CONTROL_MEMBERS[m.name];
      if (kind === undefined) {
        if (m.name in DATA_MEMBERS) throw new InvalidPackageError(`wrong ar member order: "${m.name}" comes before the control.tar member`);
        throw new InvalidPackageError(`expected control.tar[.gz|.xz|.zst] after debian-binary, found ar member "${m.name}"`);
      }
      checkMagic(m, kind);
      controlMember = m.name;
      const body = new PassThrough();
      controlBytes = readControlTar(body, kind, m.name);
      controlBytes.catch(() => undefined); // awaited below; avoid an unhandled rejection if the ar walk fails first
      state = 'data';
      return body;
    }
    // state === 'data'
    const kind = DATA_MEMBERS[m.name];
    if (kind === undefined) {
      if (m.name in CONTROL_MEMBERS) throw new InvalidPackageError(`the .deb has a second control member "${m.name}"`);
      throw new InvalidPackageError(`expected data.tar[.gz|.xz|.zst|.bz2|.lzma] after ${controlMember}, found ar member "${m.name}"`);
    }
    if (m.size === 0) throw new InvalidPackageError(`ar member "${m.name}" is empty`);
    if (m.offset + m.size > size) {
      throw new InvalidPackageError(`the .deb is truncated: "${m.name}" declares ${m.size} bytes but only ${Math.max(0, size - m.offset)} are present`);
    }
    checkMagic(m, kind);
    dataMember = m.name;
    state = 'done';
    return 'stop';
  });
  if (state === 'start') throw new InvalidPackageError('the .deb is an empty ar archive (no debian-binary member)');
  if (state === 'control') throw new InvalidPackageError('the .deb has no control.tar member');
  if (state === 'data') {
    await controlBytes; // a broken control member is the more useful message
    throw new InvalidPackageError(`the .deb has no data.tar member after ${controlMember}`);
  }
  const control = parseControl(decodeUtf8(await controlBytes!, 'control file'));
  return { ...validateControl(control), control, controlMember, dataMember };
}

function required(control: Control, field: string): string {
  const v = control.firstLine(field);
  if (v === undefined || v === '') throw new InvalidPackageError(`control file has no ${field} field`);
  if (control.get(field)!.includes('\n')) throw new InvalidPackageError(`control field ${field} must be a single line`);
  return v;
}

/** Check the fields that become names, paths and sort keys. */
export function validateControl(control: Control): { name: string; version: string; arch: string; source: string } {
  const name = required(control, 'Package');
  if (!PACKAGE_NAME.test(name)) {
    throw new InvalidPackageError(`invalid package name "${name}": Debian names are lower-case letters, digits, "+", "-", "." (at least 2 characters, starting with a letter or digit)`);
  }
  const version = required(control, 'Version');
  const parsed = parseDebianVersion(version);
  if (typeof parsed === 'string') throw new InvalidPackageError(`invalid Debian version "${version}": ${parsed}`);
  const arch = required(control, 'Architecture');
  if (!ARCH_NAME.test(arch) || arch === 'any' || arch === 'source') {
    throw new InvalidPackageError(`invalid Architecture "${arch}" for a binary package (one name such as amd64, arm64 or all)`);
  }
  let source = name;
  const sourceField = control.get('Source');
  if (sourceField !== undefined) {
    // "Source: name" or "Source: name (version)" when the source version differs.
    const m = /^([^\s(]+)(?:\s*\(([^()]*)\))?$/.exec(sourceField.trim());
    if (!m || !PACKAGE_NAME.test(m[1])) throw new InvalidPackageError(`invalid Source field "${sourceField}"`);
    source = m[1];
  }
  return { name, version, arch, source };
}
