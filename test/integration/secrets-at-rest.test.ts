/**
 * Issue 13 (part 2), secrets at rest: without MASTER_KEY a master key is generated into
 * DATA_DIR/master-key (0600) and every private signing key is stored encrypted; plaintext keys
 * from before are encrypted in place at start (once); the data directory is 0700 and the SQLite
 * database with its -wal/-shm 0600. Runs on SQLite and on MariaDB (TEST_DB=mysql; the file
 * mode checks of the SQLite files apply to SQLite only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/schema';
import { createServices, type Services } from '../../src/services';
import { SigningKeyEntity } from '../../src/db/entities';
import { openPrivateKey } from '../../src/core/keys/at-rest';
import { createLogger } from '../../src/util/logger';
import { createMysqlDatabase } from '../helpers/mysql';
import { testDbKind } from '../helpers/server';

const mode = (f: string) => fs.statSync(f).mode & 0o777;

/** One data directory (and database) across several boots, as a real restart sees them. */
async function installation(): Promise<{ dataDir: string; boot(env?: Record<string, string>, logLines?: string[]): Promise<Services>; remove(): Promise<void> }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'artifactd-secrets-'));
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, 'new', 'data');
  const db = testDbKind() === 'mysql' ? await createMysqlDatabase() : null;
  return {
    dataDir,
    async boot(env = {}, logLines = []) {
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'info', ...(db ? { DATABASE_URL: db.url } : {}), ...env });
      return createServices(config, createLogger('info', {}, (l) => logLines.push(l)));
    },
    async remove() {
      await db?.drop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function storedKeys(s: Services): Promise<{ id: number; kind: string; privateKey: string }[]> {
  return s.db.manager.getRepository(SigningKeyEntity).find({ select: { id: true, kind: true, privateKey: true }, order: { id: 'ASC' } });
}

test('a generated master key (0600) encrypts every signing key; the data directory is 0700, the database 0600', async () => {
  const inst = await installation();
  try {
    const logLines: string[] = [];
    const s = await inst.boot({}, logLines);
    try {
      assert.equal(mode(inst.dataDir), 0o700, 'DATA_DIR');
      assert.equal(mode(path.dirname(inst.dataDir)), 0o700, 'missing parents are created 0700 too');
      for (const f of ['master-key', 'admin-token']) assert.equal(mode(path.join(inst.dataDir, f)), 0o600, f);
      const masterKey = fs.readFileSync(path.join(inst.dataDir, 'master-key'), 'utf8').trim();
      assert.match(masterKey, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(!logLines.some((l) => l.includes(masterKey)), 'the master key is never logged');

      const repo = await s.repos.getOrCreate('apk', 'sealed');
      const signer = s.keys.signerFor(repo);
      const pgp = await signer.openpgp();
      const [rsa] = await signer.rsa();
      const keys = await storedKeys(s);
      assert.deepEqual(keys.map((k) => k.kind).sort(), ['openpgp', 'rsa']);
      for (const k of keys) {
        assert.match(k.privateKey, /^enc:v1:/, `${k.kind} is sealed`);
        assert.match(openPrivateKey(k.privateKey, masterKey), /PRIVATE KEY/);
      }
      // The keys sign (RSA: verify with the public key).
      const data = Buffer.from('index');
      assert.ok(crypto.verify('sha256', data, rsa.publicKeyPem, rsa.sign(data, 'sha256')));
      assert.match(await pgp.clearsign('hello\n'), /BEGIN PGP SIGNATURE/);

      if (testDbKind() === 'sqlite') {
        const db = path.join(inst.dataDir, 'artifactd.sqlite');
        for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f), 0o600, path.basename(f));
        const bytes = Buffer.concat([db, `${db}-wal`].map((f) => fs.readFileSync(f))).toString('latin1');
        assert.ok(!bytes.includes('PRIVATE KEY'), 'no plaintext private key in the database files');
      }
    } finally {
      await s.close();
    }
  } finally {
    await inst.remove();
  }
});

test('plaintext keys are encrypted in place at start, once; a different master key stops the boot; MASTER_KEY can replace the file', async () => {
  const inst = await installation();
  try {
    let s = await inst.boot();
    const masterKey = fs.readFileSync(path.join(inst.dataDir, 'master-key'), 'utf8').trim();
    const repo = await s.repos.getOrCreate('apk', 'legacy');
    const publicPem = (await s.keys.signerFor(repo).rsa())[0].publicKeyPem;
    await s.keys.signerFor(repo).openpgp();
    // What an older artifactd without MASTER_KEY left behind: plaintext private keys.
    for (const k of await storedKeys(s)) {
      await s.db.write((m) => m.getRepository(SigningKeyEntity).update({ id: k.id }, { privateKey: openPrivateKey(k.privateKey, masterKey) }));
    }
    assert.ok((await storedKeys(s)).every((k) => !k.privateKey.startsWith('enc:')));
    await s.close();

    const logLines: string[] = [];
    s = await inst.boot({}, logLines);
    const sealed = await storedKeys(s);
    assert.ok(sealed.every((k) => k.privateKey.startsWith('enc:v1:')), 'sealed at start');
    assert.equal(logLines.filter((l) => l.includes('encrypted plaintext signing keys')).length, 1);
    const data = Buffer.from('after');
    const [rsa] = await s.keys.signerFor(repo).rsa();
    assert.ok(crypto.verify('sha256', data, publicPem, rsa.sign(data, 'sha256')), 'the same key, still signing');
    await s.close();

    const again: string[] = [];
    s = await inst.boot({}, again);
    assert.deepEqual(await storedKeys(s), sealed, 'idempotent: nothing re-encrypted');
    assert.equal(again.filter((l) => l.includes('encrypted plaintext')).length, 0);
    await s.close();

    await assert.rejects(inst.boot({ MASTER_KEY: 'a-different-master-key-0123' }), /master key does not open the signing keys/);

    // Moving the key to a secret store: MASTER_KEY from the file's content, then delete the file.
    fs.rmSync(path.join(inst.dataDir, 'master-key'));
    s = await inst.boot({ MASTER_KEY: masterKey });
    assert.ok(crypto.verify('sha256', data, publicPem, (await s.keys.signerFor(repo).rsa())[0].sign(data, 'sha256')));
    assert.equal(fs.existsSync(path.join(inst.dataDir, 'master-key')), false, 'no new file while MASTER_KEY is set');
    await s.close();
  } finally {
    await inst.remove();
  }
});
