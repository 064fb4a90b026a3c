/**
 * Secrets on local disk: the data directory (SQLite database with the signing keys, generated
 * tokens, upload temp files) is created 0700, and generated secrets are files of mode 0600, so
 * other local users read none of it whatever the umask.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../util/logger';

/** Create DATA_DIR (and missing parents) 0700. An existing directory keeps its mode; a readable one is reported. */
export function ensurePrivateDir(dir: string, log?: Logger): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(dir).mode & 0o777;
  if (mode & 0o077) log?.warn('the data directory is accessible to other users; chmod 700 it', { dir, mode: mode.toString(8) });
}

/**
 * The secret in `file`, or a new one from `generate` written there 0600. `wx` (create only):
 * two processes starting at once on one data directory end up with the same secret.
 */
export function readOrCreateSecret(file: string, generate: () => string): { value: string; created: boolean } {
  if (fs.existsSync(file)) return { value: fs.readFileSync(file, 'utf8').trim(), created: false };
  ensurePrivateDir(path.dirname(file));
  const value = generate();
  try {
    fs.writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { value: fs.readFileSync(file, 'utf8').trim(), created: false };
  }
  return { value, created: true };
}

/**
 * MASTER_KEY, or the one generated at first start into DATA_DIR/master-key (0600), so private
 * signing keys are always encrypted at rest. The key itself is never logged. To keep it out of
 * the data directory (a backup of the database then holds no usable keys), set MASTER_KEY to
 * the file's content and delete the file (README, Configuration).
 */
export function resolveMasterKey(config: { MASTER_KEY?: string; dataDir: string }, log: Logger): string {
  if (config.MASTER_KEY) return config.MASTER_KEY;
  const file = path.join(config.dataDir, 'master-key');
  const { value, created } = readOrCreateSecret(file, () => crypto.randomBytes(32).toString('base64url'));
  if (value.length < 16) throw new Error(`${file} holds no usable master key (16+ characters)`);
  if (created) log.warn('generated a master key that encrypts signing keys at rest; move it to a secret store (see README)', { file });
  return value;
}
