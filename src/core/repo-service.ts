import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import { isUniqueViolation } from '../db/database';
import { RepoEntity, type RepoRow } from '../db/entities';
import { NotFoundError, UnauthorizedError } from './errors';
import type { RepoKind } from './kind-contract';
import type { RepoInfo } from './provider';
import { TokenService, type Principal, type Role } from './tokens';

export function toRepoInfo(row: RepoRow): RepoInfo {
  const info: RepoInfo = { id: row.id, provider: row.provider, name: row.name, settings: JSON.parse(row.settings || '{}') as Record<string, unknown>, kind: (row.kind ?? 'hosted') as RepoKind };
  if (row.kind === 'virtual') info.members = JSON.parse(row.members || '[]') as string[];
  return info;
}

/** May this principal read the repository (public, or a token whose pattern covers its stored name)? */
export function canReadRepo(publicRead: boolean, principal: Principal | undefined, repo: RepoInfo): boolean {
  return (publicRead && repo.settings.private !== true) || TokenService.allows(principal, 'read', repo.name);
}

/**
 * The one answer for "no such repository" and "a repository you may not read", so a reader
 * cannot tell private names from missing ones. Anonymous readers get 401 for both: browsers
 * (the UI's only sign-in), wget and pip with keyring send credentials only after a
 * `WWW-Authenticate` challenge, so a private repository must keep challenging, and a missing
 * one must then challenge too. (apt with auth.conf, pip and curl with user:pass in the URL,
 * pacman and apk send them up front; apt 2.6 was checked on the wire.) A reader who did
 * authenticate gets 404 for both: asking again for credentials would not help.
 */
export function hiddenRepoError(principal: Principal | undefined, provider: string, name: string): Error {
  return principal
    ? new NotFoundError(`no ${provider} repository named "${name}"`)
    : new UnauthorizedError(`no public ${provider} repository named "${name}": if it is private, send a read token as "Authorization: Bearer <token>" or as the basic-auth password`);
}

/** Repository rows: looked up by (provider, name), created on first upload. */
export class RepoService {
  /** Called in the transaction that creates a repository (its `repository.created` event). */
  onCreated: ((m: EntityManager, repo: RepoInfo) => Promise<void>) | null = null;

  constructor(private readonly db: Database) {}

  async find(provider: string, name: string): Promise<RepoInfo | null> {
    const row = await this.db.manager.getRepository(RepoEntity).findOne({ where: { provider, name } });
    // Names compare byte for byte everywhere (the schema uses binary collations, migration
    // 1763700000000). Checked here as well, so a database whose collation folds case or
    // trailing spaces can never hand "App-secret" to a request (and token pattern) for "app-secret".
    return row && row.provider === provider && row.name === name ? toRepoInfo(row) : null;
  }

  async get(provider: string, name: string): Promise<RepoInfo> {
    const r = await this.find(provider, name);
    if (!r) throw new NotFoundError(`no ${provider} repository named "${name}"`);
    return r;
  }

  /**
   * The repository a request names, if `principal` may act on it with `role`; otherwise the
   * answer does not depend on whether it exists. Reads: `hiddenRepoError` for missing and
   * unreadable alike. Write/admin: the token's role and pattern are checked against the
   * requested name before the lookup (401/403 whether or not it exists), then 404, then the
   * pattern again against the stored name (the name that authorization is about).
   */
  async authorized(provider: string, name: string, principal: Principal | undefined, role: Role, publicRead: boolean): Promise<RepoInfo> {
    if (role === 'read') return RepoService.readable(await this.find(provider, name), provider, name, principal, publicRead);
    TokenService.require(principal, role, name);
    const repo = await this.get(provider, name);
    TokenService.require(principal, role, repo.name);
    return repo;
  }

  /** The read rule of `authorized`, for a repository already looked up (the GET path looks it up in src/core/read-cache.ts). */
  static readable(repo: RepoInfo | null, provider: string, name: string, principal: Principal | undefined, publicRead: boolean): RepoInfo {
    if (repo && canReadRepo(publicRead, principal, repo)) return repo;
    throw hiddenRepoError(principal, provider, name);
  }

  async byId(id: number): Promise<RepoInfo | null> {
    const row = await this.db.manager.getRepository(RepoEntity).findOne({ where: { id } });
    return row ? toRepoInfo(row) : null;
  }

  async getOrCreate(provider: string, name: string): Promise<RepoInfo> {
    const existing = await this.find(provider, name);
    if (existing) return existing;
    try {
      // The row and its event commit together (src/core/events.ts).
      return await this.db.write(async (m) => {
        await m.getRepository(RepoEntity).insert({ provider, name, settings: '{}', createdAt: Date.now() });
        const repo = toRepoInfo(await m.getRepository(RepoEntity).findOneOrFail({ where: { provider, name } }));
        await this.onCreated?.(m, repo);
        return repo;
      });
    } catch (e) {
      // Another upload (maybe on another instance) created it first.
      if (!isUniqueViolation(e)) throw e;
    }
    return this.get(provider, name);
  }

  async list(): Promise<RepoInfo[]> {
    const rows = await this.db.manager.getRepository(RepoEntity).find({ order: { provider: 'ASC', name: 'ASC' } });
    return rows.map(toRepoInfo);
  }

  /** The repository as it is once `patch` is applied (`null` removes a setting); nothing written. */
  static patched(repo: RepoInfo, patch: Record<string, unknown>): RepoInfo {
    const settings = { ...repo.settings, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === null) delete settings[k];
    return { ...repo, settings };
  }

  /** `inTx`: more writes that commit (or not) with the settings, e.g. the change's event. */
  async updateSettings(repo: RepoInfo, patch: Record<string, unknown>, inTx?: (m: EntityManager, updated: RepoInfo) => Promise<void>): Promise<RepoInfo> {
    const updated = RepoService.patched(repo, patch);
    await this.db.write(async (m) => {
      await m.getRepository(RepoEntity).update({ id: repo.id }, { settings: JSON.stringify(updated.settings) });
      this.db.repoChanged(m, repo.id);
      await inTx?.(m, updated);
    });
    return updated;
  }
}
