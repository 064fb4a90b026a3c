/**
 * Test helpers for the pacman provider: real packages built by Debian's `makepkg` as an
 * unprivileged user, hand-made archives for the bad cases, a RepoSigner backed by a real
 * OpenPGP key (Ed25519, v4) and UploadInput/PublishContext values built by hand.
 */
import type { TestUpload, RenderedPackage } from '../../helpers/provider';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as openpgp from 'openpgp';
import tar from 'tar-stream';
import type { EntryRow, FileHashes, OpenPgpSigner, ParsedPackage, PublishContext, RepoInfo, RepoSigner, UploadInput, UploadedFile } from '../../../src/core/provider';

export const BUILDER = 'builder';

export function tmpDir(prefix = 'pacman-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const userExists = (u: string): boolean => spawnSync('id', [u], { stdio: 'ignore' }).status === 0;

/** makepkg refuses to run as root: build as an unprivileged user, created if missing. */
export function ensureBuilder(): void {
  if (userExists(BUILDER)) return;
  // Test files run in parallel: another one may create the user at the same moment.
  const r = spawnSync('useradd', ['-m', BUILDER], { stdio: 'ignore' });
  if (r.status !== 0 && !userExists(BUILDER)) throw new Error(`useradd ${BUILDER} failed`);
}

export interface PkgSpec {
  name: string;
  pkgver: string;
  pkgrel?: string;
  epoch?: string;
  arch?: string;
  pkgext?: string;
  /** Extra PKGBUILD lines (depends=(...), license=(...), ...). */
  extra?: string;
  /** Shell commands for package(), run with $pkgdir set. Default: one file under usr/share. */
  package?: string;
}

/** Build a package with the real makepkg (as `builder`) and return its path. */
export function makepkg(spec: PkgSpec, outDir: string): string {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensureBuilder();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pacman-build-'));
  fs.chmodSync(dir, 0o777);
  const pkgbuild = [
    `pkgname=${spec.name}`,
    `pkgver=${spec.pkgver}`,
    `pkgrel=${spec.pkgrel ?? '1'}`,
    spec.epoch ? `epoch=${spec.epoch}` : '',
    `pkgdesc="Test package ${spec.name}"`,
    `arch=('${spec.arch ?? 'any'}')`,
    `url="https://example.org/${spec.name}"`,
    `license=('MIT')`,
    spec.extra ?? '',
    'package() {',
    spec.package ?? `  mkdir -p "$pkgdir/usr/share/${spec.name}"; echo ${spec.pkgver} > "$pkgdir/usr/share/${spec.name}/VERSION"`,
    '}',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'PKGBUILD'), pkgbuild);
  fs.chmodSync(path.join(dir, 'PKGBUILD'), 0o666);
  const pkgext = spec.pkgext ?? '.pkg.tar.zst';
  const carch = spec.arch && spec.arch !== 'any' ? spec.arch : 'x86_64';
  const cmd = ['env', `PKGEXT=${pkgext}`, `CARCH=${carch}`, 'makepkg', '--nodeps', '--nocheck', '--force'];
  execFileSync(asRoot ? 'runuser' : cmd[0]!, asRoot ? ['-u', BUILDER, '--', ...cmd] : cmd.slice(1), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const built = fs.readdirSync(dir).filter((f) => f.includes('.pkg.tar'));
  if (built.length !== 1) throw new Error(`makepkg produced ${built.join(', ') || 'nothing'}`);
  const dest = path.join(outDir, built[0]!);
  fs.copyFileSync(path.join(dir, built[0]!), dest);
  fs.rmSync(dir, { recursive: true, force: true });
  return dest;
}

export function hashFile(p: string): FileHashes {
  const data = fs.readFileSync(p); // test fixtures are small
  const h = (alg: string) => crypto.createHash(alg).update(data).digest('hex');
  return { sha256: h('sha256'), sha512: h('sha512'), sha1: h('sha1'), md5: h('md5') };
}

export function uploaded(p: string, clientFilename = path.basename(p)): UploadedFile {
  return { localPath: p, clientFilename, size: fs.statSync(p).size, hashes: hashFile(p) };
}

export const REPO: RepoInfo = { id: 1, provider: 'pacman', name: 'testrepo', settings: {} };

export interface TestSigner extends RepoSigner {
  pgp: OpenPgpSigner;
  calls: { detachSignFile: number };
}

/** A RepoSigner with a fresh Ed25519 (v4, legacy EdDSA) key, the kind gpg/pacman verify. */
export async function makeSigner(): Promise<TestSigner> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'artifactd test repo', email: 'repo@example.org' }],
    format: 'object',
  });
  const detachSign = async (data: Buffer, armored: boolean): Promise<Buffer> => {
    const message = await openpgp.createMessage({ binary: data });
    if (armored) return Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'armored' }));
    return Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'binary' }));
  };
  const calls = { detachSignFile: 0 };
  const pgp: OpenPgpSigner = {
    fingerprint: privateKey.getFingerprint(),
    publicKeyArmored: publicKey.armor(),
    publicKeyBinary: Buffer.from(publicKey.write()),
    clearsign: async (text) =>
      openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: privateKey, format: 'armored' }),
    detachSign,
    detachSignFile: async (p) => {
      calls.detachSignFile++;
      return detachSign(fs.readFileSync(p), false);
    },
  };
  return { pgp, calls, openpgp: async () => pgp, rsa: async () => [] };
}

export function uploadInput(file: UploadedFile, signer: RepoSigner, extraFiles: Record<string, UploadedFile> = {}): TestUpload {
  return { file, extraFiles, params: {}, repo: REPO, signer };
}

/** A stored row as the core would keep it for a parsed package. */
export function rowOf(p: RenderedPackage, file: UploadedFile, id: number, createdAt = new Date(1_700_000_000_000 + id * 1000)): EntryRow {
  return {
    id, name: p.name, version: p.version, arch: p.arch, filename: p.filename, path: p.path, partition: p.partition,
    entry: p.entry, meta: p.meta, size: file.size, hashes: file.hashes, createdAt, yanked: null,
  };
}

export function publishContext(scope: string, rows: EntryRow[], signer: RepoSigner, repo: RepoInfo = REPO): PublishContext {
  return {
    repo,
    scope,
    now: new Date(),
    signer,
    partitions: async () => [...new Set(rows.map((r) => r.partition))],
    entries: async (parts) => rows.filter((r) => !parts || parts.includes(r.partition)),
  };
}

export interface TarSpec {
  name: string;
  data?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/** A hand-made tar (for archives makepkg would never produce). */
export function makeTar(entries: TarSpec[], opts: { terminate?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => {
      const all = Buffer.concat(chunks);
      // A "cut" tar (abuild-tar --cut) lacks the two zero end-of-archive blocks.
      resolve(opts.terminate === false ? all.subarray(0, all.length - 1024) : all);
    });
    pack.on('error', reject);
    for (const e of entries) {
      const type = e.type ?? (e.data === undefined ? 'directory' : 'file');
      if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.data ?? ''));
      else if (type === 'symlink') pack.entry({ name: e.name, type, linkname: e.linkname ?? 'x' });
      else pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    }
    pack.finalize();
  });
}

export const PKGINFO_OK = ['pkgname = handmade', 'pkgver = 1.0-1', 'pkgdesc = hand made', 'size = 3', 'arch = any', ''].join('\n');

export function compress(data: Buffer, kind: 'gzip' | 'xz' | 'zstd' | 'none'): Buffer {
  if (kind === 'gzip') return zlib.gzipSync(data);
  if (kind === 'none') return data;
  return execFileSync(kind === 'xz' ? 'xz' : 'zstd', ['-c', '-q'], { input: data, maxBuffer: 1 << 30 });
}

export function writeTemp(dir: string, name: string, data: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}
