/** RSA keys for apk index signatures (PKCS#1 v1.5), made with node:crypto. */
import crypto from 'node:crypto';
import type { RsaSigner } from '../provider';

export interface GeneratedRsaKey {
  publicPem: string;
  privatePem: string;
  /** sha256 of the DER SubjectPublicKeyInfo, hex. */
  fingerprint: string;
}

export function generateRsaKey(bits = 2048): GeneratedRsaKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  return describeRsa(publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

export function describeRsa(publicPem: string, privatePem: string): GeneratedRsaKey {
  const der = crypto.createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
  return { publicPem, privatePem, fingerprint: crypto.createHash('sha256').update(der).digest('hex') };
}

/** apk finds v2 index keys by file name: `<repo>-<first 8 hex of the key fingerprint>.rsa.pub`. */
export function rsaKeyName(repoName: string, fingerprint: string): string {
  return `${repoName}-${fingerprint.slice(0, 8)}.rsa.pub`;
}

export function makeRsaSigner(keyName: string, publicPem: string, privatePem: string): RsaSigner {
  const key = crypto.createPrivateKey(privatePem);
  return {
    keyName,
    publicKeyPem: publicPem,
    sign: (data, digest) => crypto.sign(digest, data, { key, padding: crypto.constants.RSA_PKCS1_PADDING }),
  };
}
