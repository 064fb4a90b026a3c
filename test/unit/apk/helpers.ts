/**
 * Hand-built core values for unit tests: temp upload files with hashes computed here, a
 * RepoSigner backed by real node:crypto RSA keys, and a PublishContext over rows made from
 * the provider's own parse results (the rows are data, not a mock of the format).
 */
import type { TestUpload, RenderedPackage } from '../../helpers/provider';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EntryRow, ParsedPackage, PublishContext, RepoInfo, RepoSigner, RsaSigner, UploadInput } from '../../../src/core/provider';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'apk-test-'));
}

export function rsaKey(keyName: string, bits = 2048): RsaSigner & { privateKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    keyName,
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (data, digest) => crypto.sign(digest, data, privateKey),
  };
}

export function signerOf(keys: RsaSigner[]): RepoSigner {
  return {
    openpgp: () => Promise.reject(new Error('apk does not use OpenPGP')),
    rsa: async () => keys,
  };
}

export const repo = (settings: Record<string, unknown> = {}): RepoInfo => ({ id: 1, provider: 'apk', name: 'alpine-test', settings });

export function uploadOf(dir: string, name: string, bytes: Buffer, params: Record<string, string> = { branch: 'main' }, signer = signerOf([])): TestUpload {
  const localPath = path.join(dir, name);
  fs.writeFileSync(localPath, bytes);
  const h = (alg: string) => crypto.createHash(alg).update(bytes).digest('hex');
  return {
    file: { localPath, clientFilename: name, size: bytes.length, hashes: { sha256: h('sha256'), sha512: h('sha512'), sha1: h('sha1'), md5: h('md5') } },
    extraFiles: {},
    params,
    repo: repo(),
    signer,
  };
}

let nextId = 1;
export function rowOf(p: RenderedPackage, input: UploadInput): EntryRow {
  return {
    id: nextId++,
    name: p.name,
    version: p.version,
    arch: p.arch,
    filename: p.filename,
    path: p.path,
    partition: p.partition,
    entry: p.entry,
    meta: p.meta,
    size: input.file.size,
    hashes: input.file.hashes,
    createdAt: new Date(0),
    yanked: null,
  };
}

export function publishContext(scope: string, rows: EntryRow[], signer: RepoSigner, settings: Record<string, unknown> = {}): PublishContext {
  return {
    repo: repo(settings),
    scope,
    now: new Date(0),
    signer,
    partitions: async () => [...new Set(rows.map((r) => r.partition))],
    entries: async (parts) => rows.filter((r) => !parts || parts.includes(r.partition)),
  };
}
