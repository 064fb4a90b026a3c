import type { Database } from '../db/database';
import { isUniqueViolation } from '../db/database';
import { RepoEntity, type RepoRow } from '../db/entities';
import { NotFoundError } from './errors';
import type { RepoKind } from './kind-contract';
import type { RepoInfo } from './provider';

export function toRepoInfo(row: RepoRow): RepoInfo {
  const info: RepoInfo = { id: row.id, provider: row.provider, name: row.name, settings: JSON.parse(row.settings || '{}') as Record<string, unknown>, kind: (row.kind ?? 'hosted') as RepoKind };
  if (row.kind === 'virtual') info.members = JSON.parse(row.members || '[]') as string[];
  return info;
}

/** Repository rows: looked up by (provider, name), created on first upload. */
export class RepoService {
  constructor(private readonly db: Database) {}

  async find(provider: string, name: string): Promise<RepoInfo | null> {
    const row = await this.db.manager.getRepository(RepoEntity).findOne({ where: { provider, name } });
    return row ? toRepoInfo(row) : null;
  }

  async get(provider: string, name: string): Promise<RepoInfo> {
    const r = await this.find(provider, name);
    if (!r) throw new NotFoundError(`no ${provider} repository named "${name}"`);
    return r;
  }

  async byId(id: number): Promise<RepoInfo | null> {
    const row = await this.db.manager.getRepository(RepoEntity).findOne({ where: { id } });
    return row ? toRepoInfo(row) : null;
  }

  async getOrCreate(provider: string, name: string): Promise<RepoInfo> {
    const existing = await this.find(provider, name);
    if (existing) return existing;
    try {
      await this.db.write((m) => m.getRepository(RepoEntity).insert({ provider, name, settings: '{}', createdAt: Date.now() }));
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

  async updateSettings(repo: RepoInfo, patch: Record<string, unknown>): Promise<RepoInfo> {
    const settings = { ...repo.settings, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === null) delete settings[k];
    await this.db.write((m) => m.getRepository(RepoEntity).update({ id: repo.id }, { settings: JSON.stringify(settings) }));
    return { ...repo, settings };
  }
}
