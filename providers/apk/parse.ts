/**
 * Reads an apk v2 package in one streaming pass (docs/formats/apk.md#package-file to #package-checksum, following apk-tools'
 * src/extract_v2.c for where each part begins and ends):
 *
 *   [signature gzip member(s): .SIGN.* entries] control member: .PKGINFO + scripts | data member
 *
 * - The decompressed members form one tar stream; the control part starts with the first
 *   top-level dot-file that is not .SIGN.*, and ends with the gzip member it started in.
 *   Signature and control tars are "cut" (no end-of-archive blocks) and may not straddle a
 *   member boundary.
 * - Exactly one data member follows: apk refuses a gzip boundary once data has started.
 * - C: = "Q1" + base64(SHA-1 of the control member's compressed bytes, header to trailer).
 * - datahash (when present) = hex SHA-256 of the compressed data member.
 * - Every regular file in the data tar needs a PAX APK-TOOLS.checksum.SHA1 (apk 3 refuses
 *   files without it); we also check it against the content.
 * Nothing is buffered except .PKGINFO (capped); decompression is capped overall.
 */
import { createHash, type Hash } from 'node:crypto';
import { InvalidPackageError } from '../../src/core/errors';
import { assertSafeArchivePath, normalizeTarPath } from '../../src/util/tar';
import { splitGzipMembers } from './gzip-members';
import { parsePkgInfo, single, validatePkgInfo, type CoreFields, type PkgInfo } from './pkginfo';
import { TarWalker, type EntrySink, type TarEntry } from './tar-walker';

export interface ApkLimits {
  /** Cap on all decompressed bytes; default scales with the file size (see dataLimit). */
  maxOutput?: number;
  /** Cap on the decompressed signature + control part. */
  maxControl?: number;
  chunkSize?: number;
}

export interface ApkPackage extends CoreFields {
  pkginfo: PkgInfo;
  /** The APKINDEX C: value. */
  checksum: string;
  /** Hex SHA-256 of the compressed data member. */
  dataHash: string;
  /** `.SIGN.` entry names without the prefix, e.g. `RSA256.builder-5f2c.rsa.pub`. */
  signatures: string[];
  /** Bytes read: the .apk file size (APKINDEX S:). */
  size: number;
  files: number;
}

const MAX_PKGINFO = 1 << 20;
const MAX_CONTROL = 16 << 20;
const MAX_MEMBERS = 16;
/** Decompression bound: at least 256 MiB, 200x the file, never above 64 GiB. */
export function dataLimit(fileSize: number): number {
  return Math.min(64 * 2 ** 30, Math.max(256 * 2 ** 20, fileSize * 200));
}

const isTopDotFile = (name: string) => name.startsWith('.') && !name.includes('/') && name !== '.' && name !== '..';
const WHAT = 'apk package';

class ApkReader {
  private phase: 'signature' | 'control' | 'data' = 'signature';
  private inData = false;
  private dataMembers = 0;
  private controlBytes = 0;
  private memberHash: Hash | undefined;
  private readonly dataHash = createHash('sha256');
  private pkginfoText: string | undefined;
  private readonly controlNames = new Set<string>();
  readonly signatures: string[] = [];
  checksum = '';
  fields: CoreFields | undefined;
  pkginfo: PkgInfo | undefined;
  files = 0;
  /** Compressed bytes seen so far. */
  consumed = 0;
  readonly walker = new TarWalker((e) => this.entry(e), WHAT);

  constructor(
    private readonly maxControl: number,
    /** detect(): stop once the control member has ended. */
    private readonly stopAfterControl = false,
  ) {}

  start(index: number): void {
    this.inData = this.phase === 'data';
    if (this.inData) {
      if (++this.dataMembers > 1) {
        throw new InvalidPackageError(`gzip member ${index + 1}: the data must be a single gzip member after the control member (apk rejects a gzip boundary inside the data)`);
      }
    } else {
      this.memberHash = createHash('sha1');
    }
  }

  raw(chunk: Buffer): void {
    this.consumed += chunk.length;
    (this.inData ? this.dataHash : this.memberHash!).update(chunk);
  }

  data(chunk: Buffer): void {
    if (!this.inData && (this.controlBytes += chunk.length) > this.maxControl) {
      throw new InvalidPackageError(`the signature and control part expands beyond ${this.maxControl} bytes`);
    }
    this.walker.push(chunk);
  }

  end(index: number): void | 'stop' {
    if (this.inData) return;
    const n = index + 1;
    if (!this.walker.atBoundary()) throw new InvalidPackageError(`gzip member ${n} ends in the middle of a tar entry`);
    if (this.walker.zeroBlocks > 0) {
      throw new InvalidPackageError(`gzip member ${n} has tar end-of-archive blocks: signature and control tars must be cut (abuild-tar --cut)`);
    }
    if (this.phase !== 'control') return; // a signature member
    if (this.pkginfoText === undefined) throw new InvalidPackageError('the control member has no .PKGINFO');
    this.checksum = 'Q1' + this.memberHash!.digest('base64');
    this.pkginfo = parsePkgInfo(this.pkginfoText);
    this.fields = validatePkgInfo(this.pkginfo);
    this.phase = 'data';
    return this.stopAfterControl ? 'stop' : undefined;
  }

  private entry(e: TarEntry): EntrySink | undefined {
    assertSafeArchivePath(normalizeTarPath(e.name), WHAT);
    if (this.phase === 'signature') {
      if (isTopDotFile(e.name) && e.name.startsWith('.SIGN.')) {
        this.signatures.push(e.name.slice(6));
        return undefined;
      }
      if (!isTopDotFile(e.name)) throw new InvalidPackageError(`no .PKGINFO: "${e.name}" comes before any control file`);
      this.phase = 'control';
    }
    if (this.phase === 'control') return this.controlEntry(e);
    return this.dataEntry(e);
  }

  private controlEntry(e: TarEntry): EntrySink | undefined {
    if (!isTopDotFile(e.name)) {
      throw new InvalidPackageError(
        `"${e.name}" is in the same gzip member as .PKGINFO: an apk v2 package keeps control files and data in separate gzip members (is this a plain .tar.gz?)`,
      );
    }
    if (e.name === '.INSTALL') throw new InvalidPackageError('.INSTALL (an apk v1 script) is refused by apk v2; use .pre-install/.post-install');
    // Control file names as apk-tools matches them (no "./" prefix in the control member).
    if (this.controlNames.has(e.name)) {
      // apk reads each one and the last copy wins, while other tools take the first: refuse.
      throw new InvalidPackageError(`the control member contains ${e.name} twice`);
    }
    this.controlNames.add(e.name);
    if (e.name !== '.PKGINFO') return undefined;
    if (e.type !== '0' && e.type !== '7') throw new InvalidPackageError('.PKGINFO is not a regular file');
    if (e.size > MAX_PKGINFO) throw new InvalidPackageError(`.PKGINFO is larger than ${MAX_PKGINFO} bytes`);
    const parts: Buffer[] = [];
    return {
      data: (c) => parts.push(c),
      end: () => (this.pkginfoText = Buffer.concat(parts).toString('utf8')),
    };
  }

  private dataEntry(e: TarEntry): EntrySink | undefined {
    const name = normalizeTarPath(e.name);
    if (e.type === '1') assertSafeArchivePath(normalizeTarPath(e.linkname), WHAT);
    // apk skips top-level dot-files in the data part, and only regular files need a checksum.
    if (isTopDotFile(e.name) || (e.type !== '0' && e.type !== '7')) return undefined;
    this.files++;
    const want = e.pax['APK-TOOLS.checksum.SHA1'];
    if (want === undefined) throw new InvalidPackageError(`file ${name} has no APK-TOOLS.checksum.SHA1 header`);
    if (!/^[0-9a-fA-F]{40}$/.test(want)) throw new InvalidPackageError(`file ${name} has a malformed APK-TOOLS.checksum.SHA1 header`);
    const h = createHash('sha1');
    return {
      data: (c) => h.update(c),
      end: () => {
        if (h.digest('hex') !== want.toLowerCase()) {
          throw new InvalidPackageError(`file ${name}: content does not match its APK-TOOLS.checksum.SHA1 header`);
        }
      },
    };
  }

  /** After the last member: everything present and consistent. */
  finish(members: number): void {
    if (members < 2) throw new InvalidPackageError('fewer than two gzip members: an apk v2 package is a control member followed by a data member');
    if (this.phase === 'signature') throw new InvalidPackageError('no .PKGINFO found');
    if (this.dataMembers === 0) throw new InvalidPackageError('no data member after the control member');
    this.walker.finish();
    const datahash = single(this.pkginfo!, 'datahash');
    if (datahash !== undefined && datahash.toLowerCase() !== this.dataHashHex()) {
      throw new InvalidPackageError('datahash mismatch: .PKGINFO datahash is not the SHA-256 of the data member');
    }
  }

  private hex: string | undefined;
  dataHashHex(): string {
    return (this.hex ??= this.dataHash.digest('hex'));
  }
}

/** Parse and fully verify the package at `path` (`fileSize` sizes the decompression bound). */
export async function parseApkFile(path: string, fileSize: number, limits: ApkLimits = {}): Promise<ApkPackage> {
  const reader = new ApkReader(limits.maxControl ?? MAX_CONTROL);
  const split = await splitGzipMembers(path, reader, {
    maxOutput: limits.maxOutput ?? dataLimit(fileSize),
    maxMembers: MAX_MEMBERS,
    what: WHAT,
    chunkSize: limits.chunkSize,
  });
  reader.finish(split.members);
  return {
    ...reader.fields!,
    pkginfo: reader.pkginfo!,
    checksum: reader.checksum,
    dataHash: reader.dataHashHex(),
    signatures: reader.signatures,
    size: split.bytes,
    files: reader.files,
  };
}

/** Cheap check used by format detection: a control member with .PKGINFO, and more bytes after it. */
export async function looksLikeApk(path: string, fileSize: number): Promise<boolean> {
  const reader = new ApkReader(4 << 20, true);
  try {
    const split = await splitGzipMembers(path, reader, { maxOutput: 4 << 20, maxMembers: MAX_MEMBERS, what: WHAT, chunkSize: 64 * 1024 });
    return reader.fields !== undefined && split.stopped && reader.consumed < fileSize;
  } catch {
    return false;
  }
}
