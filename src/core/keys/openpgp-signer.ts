/**
 * OpenPGP signing with v4 Ed25519 ("EdDSA legacy") keys: accepted by gpgv (apt on Debian 12),
 * sqv (apt 3.x) and GPGME (pacman). openpgp.js defaults to SHA-512 signature digests;
 * SHA-1 is rejected by apt since 1.4, so we never allow it.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import type { OpenPgpSigner } from '../provider';

const config = { preferredHashAlgorithm: openpgp.enums.hash.sha512 };

export interface GeneratedOpenPgpKey {
  fingerprint: string;
  publicArmored: string;
  privateArmored: string;
}

export async function generateOpenPgpKey(userName: string, email: string): Promise<GeneratedOpenPgpKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: userName, email }],
    format: 'armored',
    config,
  });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return { fingerprint: key.getFingerprint().toUpperCase(), publicArmored: publicKey, privateArmored: privateKey };
}

/** Validate an imported armored private key; returns its public half and fingerprint. */
export async function inspectPrivateKey(armored: string): Promise<GeneratedOpenPgpKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  if (!key.isDecrypted()) throw new Error('the private key is passphrase-protected; import it unprotected (gpg --export-secret-keys after removing the passphrase)');
  const algo = key.getAlgorithmInfo();
  if (algo.algorithm === 'dsa' || (algo.algorithm.startsWith('rsa') && (algo.bits ?? 0) < 2048)) {
    throw new Error('apt rejects DSA keys and RSA keys below 2048 bits; use Ed25519 or RSA >= 3072');
  }
  return { fingerprint: key.getFingerprint().toUpperCase(), publicArmored: key.toPublic().armor(), privateArmored: armored };
}

async function readAll(data: unknown): Promise<Buffer> {
  if (data instanceof Uint8Array) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data);
  const reader = (data as ReadableStream<Uint8Array | string>).getReader();
  const chunks: Buffer[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(typeof value === 'string' ? Buffer.from(value) : Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

export async function makeOpenPgpSigner(privateArmored: string): Promise<OpenPgpSigner> {
  const privateKey = await openpgp.readPrivateKey({ armoredKey: privateArmored });
  const publicKey = privateKey.toPublic();
  return {
    fingerprint: privateKey.getFingerprint().toUpperCase(),
    publicKeyArmored: publicKey.armor(),
    publicKeyBinary: Buffer.from(publicKey.write()),
    async clearsign(text: string) {
      const message = await openpgp.createCleartextMessage({ text });
      return openpgp.sign({ message, signingKeys: privateKey, config });
    },
    async detachSign(data: Buffer, armored: boolean) {
      const message = await openpgp.createMessage({ binary: new Uint8Array(data) });
      if (armored) return Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'armored', config }));
      return readAll(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'binary', config }));
    },
    async detachSignFile(localPath: string) {
      const stream = Readable.toWeb(createReadStream(localPath)) as unknown as ReadableStream<Uint8Array>;
      const message = await openpgp.createMessage({ binary: stream });
      return readAll(await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'binary', config }));
    },
  };
}
