/** Encryption of private keys at rest with the master key (AES-256-GCM, scrypt-derived key). */
import crypto from 'node:crypto';

const PREFIX = 'enc:v1:';

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

export function sealPrivateKey(plain: string, masterKey: string | undefined): string {
  if (!masterKey) return plain;
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(12);
  const key = crypto.scryptSync(masterKey, salt, 32);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([salt, iv, cipher.getAuthTag(), body]).toString('base64');
}

export function openPrivateKey(stored: string, masterKey: string | undefined): string {
  if (!stored.startsWith(PREFIX)) return stored;
  if (!masterKey) throw new Error('a private key is encrypted at rest but MASTER_KEY is not set');
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  const [salt, iv, tag, body] = [raw.subarray(0, 16), raw.subarray(16, 28), raw.subarray(28, 44), raw.subarray(44)];
  const decipher = crypto.createDecipheriv('aes-256-gcm', crypto.scryptSync(masterKey, salt, 32), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
}
