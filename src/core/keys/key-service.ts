/**
 * Per-repository signing keys, created the first time a repository needs one. Private
 * keys never leave the server (no API returns them) and are encrypted at rest with the
 * master key (MASTER_KEY, or the generated DATA_DIR/master-key).
 */
import type { EntityManager } from 'typeorm';
import type { Database } from '../../db/database';
import { SigningKeyEntity, type SigningKeyRow } from '../../db/entities';
import type { LockManager } from '../locks';
import type { OpenPgpSigner, RepoInfo, RepoSigner, RsaSigner } from '../provider';
import { BadRequestError } from '../errors';
import type { Logger } from '../../util/logger';
import { isSealed, openPrivateKey, sealPrivateKey } from './at-rest';
import { generateOpenPgpKey, inspectPrivateKey, makeOpenPgpSigner } from './openpgp-signer';
import { generateRsaKey, makeRsaSigner, rsaKeyName } from './rsa-signer';

export interface PublicKeyInfo {
  kind: 'openpgp' | 'rsa';
  name: string;
  fingerprint: string;
  publicKey: string;
  active: boolean;
  createdAt: string;
}

/** Runs inside a key change's transaction, with the repository's keys as they are after it. */
export type KeyChangeHook = (m: EntityManager, keys: PublicKeyInfo[]) => Promise<void>;

export class KeyService {
  private readonly cache = new Map<number, OpenPgpSigner>();
  /** Opened RSA keys by row id: opening one costs a scrypt derivation (tens of ms), and apk signs every publish. */
  private readonly rsaCache = new Map<number, RsaSigner>();

  constructor(
    private readonly db: Database,
    private readonly locks: LockManager,
    private readonly masterKey: string | undefined,
    private readonly keyOwner: string,
  ) {}

  signerFor(repo: RepoInfo): RepoSigner {
    return { openpgp: () => this.openpgp(repo), rsa: () => this.rsa(repo) };
  }

  private activeKeys(repoId: number, kind: 'openpgp' | 'rsa'): Promise<SigningKeyRow[]> {
    return this.db.manager.getRepository(SigningKeyEntity).find({ where: { repoId, kind, active: true }, order: { id: 'ASC' } });
  }

  async openpgp(repo: RepoInfo): Promise<OpenPgpSigner> {
    let rows = await this.activeKeys(repo.id, 'openpgp');
    if (rows.length === 0) {
      rows = await this.locks.withLock(`keys:${repo.id}`, async () => {
        const again = await this.activeKeys(repo.id, 'openpgp');
        if (again.length) return again;
        const k = await generateOpenPgpKey(`${this.keyOwner} ${repo.provider}/${repo.name}`, `${repo.name.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}@artifactd.invalid`);
        await this.insert(repo.id, 'openpgp', k.fingerprint, k.fingerprint, k.publicArmored, k.privateArmored);
        return this.activeKeys(repo.id, 'openpgp');
      });
    }
    // The newest active key signs (an import or rotation replaces the old one).
    const row = rows[rows.length - 1];
    const cached = this.cache.get(row.id);
    if (cached) return cached;
    const signer = await makeOpenPgpSigner(openPrivateKey(row.privateKey, this.masterKey));
    this.cache.set(row.id, signer);
    return signer;
  }

  async rsa(repo: RepoInfo): Promise<RsaSigner[]> {
    let rows = await this.activeKeys(repo.id, 'rsa');
    if (rows.length === 0) {
      rows = await this.locks.withLock(`keys:${repo.id}`, async () => {
        const again = await this.activeKeys(repo.id, 'rsa');
        if (again.length) return again;
        const k = generateRsaKey();
        await this.insert(repo.id, 'rsa', rsaKeyName(repo.name, k.fingerprint), k.fingerprint, k.publicPem, k.privatePem);
        return this.activeKeys(repo.id, 'rsa');
      });
    }
    return rows.map((r) => {
      let signer = this.rsaCache.get(r.id);
      if (!signer) this.rsaCache.set(r.id, (signer = makeRsaSigner(r.name, r.publicKey, openPrivateKey(r.privateKey, this.masterKey))));
      return signer;
    });
  }

  /**
   * At start: encrypt every private key still stored in plaintext (written before keys were
   * always encrypted) in place, and check that the master key opens the sealed ones, so a
   * changed or per-instance MASTER_KEY stops the boot with a clear message instead of failing
   * at the first publish. Idempotent; the `WHERE private_key = <plaintext>` guard lets two
   * instances starting together seal each row once.
   */
  async sealPlaintextKeys(log: Logger): Promise<void> {
    if (!this.masterKey) return;
    const repo = this.db.manager.getRepository(SigningKeyEntity);
    const rows = await repo.find({ order: { id: 'ASC' } });
    const sealed = rows.find((r) => isSealed(r.privateKey));
    if (sealed) {
      try {
        openPrivateKey(sealed.privateKey, this.masterKey);
      } catch {
        throw new Error('the master key does not open the signing keys in the database: MASTER_KEY (or DATA_DIR/master-key) differs from the one they were encrypted with; instances sharing a database need the same MASTER_KEY');
      }
    }
    let count = 0;
    for (const r of rows.filter((x) => !isSealed(x.privateKey))) {
      const res = await this.db.write((m) => m.getRepository(SigningKeyEntity).update({ id: r.id, privateKey: r.privateKey }, { privateKey: sealPrivateKey(r.privateKey, this.masterKey) }));
      count += res.affected ?? 0;
    }
    if (count) log.info('encrypted plaintext signing keys at rest', { keys: count });
  }

  /** `m`: inside the caller's transaction, else one of its own. */
  private async insert(repoId: number, kind: 'openpgp' | 'rsa', name: string, fingerprint: string, publicKey: string, privatePlain: string, m?: EntityManager): Promise<void> {
    const write = (tx: EntityManager) =>
      tx.getRepository(SigningKeyEntity).insert({
        repoId,
        kind,
        name,
        fingerprint,
        publicKey,
        privateKey: sealPrivateKey(privatePlain, this.masterKey),
        active: true,
        createdAt: Date.now(),
      });
    await (m ? write(m) : this.db.write(write));
  }

  async list(repoId: number, m: EntityManager = this.db.manager): Promise<PublicKeyInfo[]> {
    const rows = await m.getRepository(SigningKeyEntity).find({ where: { repoId }, order: { id: 'ASC' } });
    return rows.map((r) => ({ kind: r.kind, name: r.name, fingerprint: r.fingerprint, publicKey: r.publicKey, active: r.active, createdAt: new Date(r.createdAt).toISOString() }));
  }

  /**
   * Replace the repository's OpenPGP key with an imported one (the old one is kept, inactive).
   * `inTx`: more writes that commit with the key change (its event).
   */
  async importOpenPgp(repo: RepoInfo, armoredPrivate: string, inTx?: KeyChangeHook): Promise<PublicKeyInfo> {
    let k;
    try {
      k = await inspectPrivateKey(armoredPrivate);
    } catch (e) {
      throw new BadRequestError(`cannot import key: ${(e as Error).message}`);
    }
    await this.locks.withLock(`keys:${repo.id}`, () =>
      this.db.write(async (m) => {
        await m.getRepository(SigningKeyEntity).update({ repoId: repo.id, kind: 'openpgp' }, { active: false });
        await m.getRepository(SigningKeyEntity).delete({ repoId: repo.id, kind: 'openpgp', name: k.fingerprint });
        await m.getRepository(SigningKeyEntity).insert({
          repoId: repo.id, kind: 'openpgp', name: k.fingerprint, fingerprint: k.fingerprint, publicKey: k.publicArmored,
          privateKey: sealPrivateKey(k.privateArmored, this.masterKey), active: true, createdAt: Date.now(),
        });
        await inTx?.(m, await this.list(repo.id, m));
      }),
    );
    this.cache.clear();
    this.rsaCache.clear();
    return (await this.list(repo.id)).find((x) => x.kind === 'openpgp' && x.active)!;
  }

  /**
   * Rotation. OpenPGP: a new key replaces the old (clients must fetch the new key).
   * RSA (apk): a second key is added and both sign, so clients holding either key keep
   * trusting the index; `retire` then drops the older one.
   */
  async rotate(repo: RepoInfo, kind: 'openpgp' | 'rsa', retire = false, inTx?: KeyChangeHook): Promise<PublicKeyInfo[]> {
    await this.locks.withLock(`keys:${repo.id}`, async () => {
      // Each change is one transaction (with the caller's event): never a repository without an active key.
      const change = (fn: (m: EntityManager) => Promise<void>) =>
        this.db.write(async (m) => {
          await fn(m);
          await inTx?.(m, await this.list(repo.id, m));
        });
      if (kind === 'openpgp') {
        const k = await generateOpenPgpKey(`${this.keyOwner} ${repo.provider}/${repo.name}`, `${repo.name.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}@artifactd.invalid`);
        await change(async (m) => {
          await m.getRepository(SigningKeyEntity).update({ repoId: repo.id, kind: 'openpgp' }, { active: false });
          await this.insert(repo.id, 'openpgp', k.fingerprint, k.fingerprint, k.publicArmored, k.privateArmored, m);
        });
      } else if (retire) {
        const rows = await this.activeKeys(repo.id, 'rsa');
        if (rows.length < 2) throw new BadRequestError('retire needs two active keys: rotate first, let clients install the new key, then retire');
        await change(async (m) => void (await m.getRepository(SigningKeyEntity).update({ id: rows[0].id }, { active: false })));
      } else {
        const k = generateRsaKey();
        await change((m) => this.insert(repo.id, 'rsa', rsaKeyName(repo.name, k.fingerprint), k.fingerprint, k.publicPem, k.privatePem, m));
      }
    });
    this.cache.clear();
    this.rsaCache.clear();
    return this.list(repo.id);
  }
}

