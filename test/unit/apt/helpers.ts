/**
 * Test helpers for the apt provider: real .deb files built with `dpkg-deb --build`,
 * hand-made ar archives for broken inputs, upload inputs with hashes computed here, and
 * a RepoSigner backed by a real OpenPGP key (v4 Ed25519, SHA-256 signatures).
 */
import type { TestUpload, RenderedPackage } from '../../helpers/provider';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import type { FileHashes, RepoInfo, RepoSigner, UploadInput } from '../../../src/core/provider';

const created: string[] = [];
process.on('exit', () => {
  if (process.env.APT_TEST_KEEP) return;
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits (unless APT_TEST_KEEP is set). */
export function tmpDir(prefix = 'apt-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

export type DebCompression = 'gzip' | 'xz' | 'zstd' | 'none';

/** Build a .deb with dpkg-deb from a control text; returns its path. */
export function buildDeb(dir: string, control: string, compression: DebCompression = 'xz', files: Record<string, string> = {}): string {
  const root = fs.mkdtempSync(path.join(dir, 'root-'));
  fs.mkdirSync(path.join(root, 'DEBIAN'));
  fs.writeFileSync(path.join(root, 'DEBIAN', 'control'), control);
  const payload = Object.keys(files).length ? files : { 'usr/share/doc/example/README': 'hello\n' };
  for (const [p, content] of Object.entries(payload)) {
    fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), content);
  }
  const out = path.join(dir, `${path.basename(root)}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', root, out], { stdio: 'pipe' });
  return out;
}

export function controlText(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

/** Hashes of a file, computed independently of the code under test. */
export function fileHashes(file: string): Required<FileHashes> {
  const data = fs.readFileSync(file);
  const h = (a: string) => crypto.createHash(a).update(data).digest('hex');
  return { md5: h('md5'), sha1: h('sha1'), sha256: h('sha256'), sha512: h('sha512') };
}

export const testRepo: RepoInfo = { id: 1, provider: 'apt', name: 'testrepo', settings: {} };

export function uploadInput(file: string, params: Record<string, string> = {}, signer?: RepoSigner, repo = testRepo): TestUpload {
  return {
    file: { localPath: file, clientFilename: path.basename(file), size: fs.statSync(file).size, hashes: fileHashes(file) },
    extraFiles: {},
    params,
    repo,
    signer: signer ?? (null as unknown as RepoSigner),
  };
}

/** One ar member: name (<= 16 chars) and data. */
export interface ArPart {
  name: string;
  data: Buffer;
}

/** Write a common-format ar archive by hand (for inputs dpkg-deb refuses to make). */
export function arArchive(parts: ArPart[]): Buffer {
  const chunks: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const p of parts) {
    const header =
      p.name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(p.data.length).padEnd(10) + '`\n';
    chunks.push(Buffer.from(header, 'latin1'), p.data);
    if (p.data.length % 2) chunks.push(Buffer.from('\n'));
  }
  return Buffer.concat(chunks);
}

/** The members of a well-formed ar archive (for rearranging real .debs in tests). */
export function arMembers(buf: Buffer): ArPart[] {
  const out: ArPart[] = [];
  let off = 8;
  while (off + 60 <= buf.length) {
    const name = buf.subarray(off, off + 16).toString('latin1').trim().replace(/\/$/, '');
    const size = Number(buf.subarray(off + 48, off + 58).toString('latin1').trim());
    out.push({ name, data: buf.subarray(off + 60, off + 60 + size) });
    off += 60 + size + (size % 2);
  }
  return out;
}

export interface TestKey {
  signer: RepoSigner;
  armored: string;
  binary: Buffer;
}

/** A RepoSigner over a fresh v4 Ed25519 key; signatures use SHA-256 (apt rejects SHA-1). */
export async function makeSigner(): Promise<TestKey> {
  const config = { preferredHashAlgorithm: openpgp.enums.hash.sha256 };
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'artifactd test', email: 'test@example.invalid' }],
    format: 'object',
    config,
  });
  const pub = privateKey.toPublic();
  const armored = pub.armor();
  const binary = Buffer.from(pub.write());
  const pgp = {
    fingerprint: privateKey.getFingerprint(),
    publicKeyArmored: armored,
    publicKeyBinary: binary,
    async clearsign(text: string) {
      return openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: privateKey, config });
    },
    async detachSign(data: Buffer, armoredOut: boolean) {
      const message = await openpgp.createMessage({ binary: data });
      if (armoredOut) return Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, detached: true, config }));
      return Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'binary', config }));
    },
    async detachSignFile(): Promise<Buffer> {
      throw new Error('not used by apt');
    },
  };
  return { signer: { openpgp: async () => pgp, rsa: async () => [] }, armored, binary };
}
