/**
 * Configuring a repository's kind (issue 14): `PUT /api/repos/{provider}/{repo}` with
 * `{"type": "remote", "upstream": ...}` or `{"type": "virtual", "members": [...]}`. Hosted
 * repositories are still created by their first upload. Upstream credentials are sealed with
 * MASTER_KEY like signing keys (src/core/keys/at-rest.ts) and never shown again.
 */
import { z } from 'zod';
import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import { RepoEntity, type RepoRow } from '../db/entities';
import { RemoteLinkEntity, RemoteObjectEntity } from '../db/remote-entities';
import { BadRequestError, ConflictError } from './errors';
import { openPrivateKey, sealPrivateKey } from './keys/at-rest';
import type { RepoKind } from './kind-contract';
import type { Provider, RepoInfo } from './provider';
import { toRepoInfo, type RepoService } from './repo-service';
import { FileEntity } from '../db/entities';

const auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1).max(255), password: z.string().max(4096) }),
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(8192) }),
]);
export type UpstreamAuth = z.infer<typeof auth>;

const remoteBody = z.strictObject({
  type: z.literal('remote'),
  upstream: z.string().min(1).max(2000),
  /** Seconds an upstream index is trusted before it is fetched again (PyPI pages, apt InRelease). */
  metadataTtl: z.number().int().min(0).max(365 * 86400).default(600),
  /** Serve only what is cached; never contact the upstream. */
  offline: z.boolean().default(false),
  /** Upper bound on cached package files (bytes); least recently used ones go first. Absent: no limit. */
  cacheMaxBytes: z.number().int().min(1).nullable().default(null),
  /** Bound on waiting for the upstream's answer and between two chunks of it. */
  timeoutSeconds: z.number().int().min(1).max(3600).default(30),
  /** Omitted: keep the stored credentials; null: remove them. */
  auth: auth.nullable().optional(),
});

const virtualBody = z.strictObject({
  type: z.literal('virtual'),
  members: z.array(z.string().min(1).max(128)).min(1).max(64),
  /** Consult remote members for a project a hosted member has (off: dependency-confusion safe). */
  mergeRemoteProjects: z.boolean().default(false),
});

export const kindBody = z.discriminatedUnion('type', [remoteBody, virtualBody]);
export type KindBody = z.infer<typeof kindBody>;

/** Stored in `repos.remote_config` (JSON). */
export interface RemoteConfig {
  metadataTtl: number;
  offline: boolean;
  cacheMaxBytes: number | null;
  timeoutSeconds: number;
  mergeRemoteProjects: boolean;
  /** `sealPrivateKey(JSON.stringify(UpstreamAuth))`. */
  sealedAuth?: string;
}

export interface KindConfig {
  kind: RepoKind;
  upstream: string | null;
  members: string[];
  remote: RemoteConfig;
  auth: UpstreamAuth | null;
}

const DEFAULTS: RemoteConfig = { metadataTtl: 600, offline: false, cacheMaxBytes: null, timeoutSeconds: 30, mergeRemoteProjects: false };

export function kindConfigOf(row: RepoRow, masterKey: string | undefined): KindConfig {
  const remote = { ...DEFAULTS, ...(JSON.parse(row.remoteConfig || '{}') as Partial<RemoteConfig>) };
  const auth = remote.sealedAuth ? (JSON.parse(openPrivateKey(remote.sealedAuth, masterKey)) as UpstreamAuth) : null;
  return { kind: (row.kind || 'hosted') as RepoKind, upstream: row.upstream, members: JSON.parse(row.members || '[]') as string[], remote, auth };
}

/** A repository's kind configuration, read from its row now (upstream credentials opened with the master key). */
export async function loadKindConfig(m: EntityManager, repoId: number, masterKey: string | undefined): Promise<KindConfig> {
  return kindConfigOf(await m.getRepository(RepoEntity).findOneByOrFail({ id: repoId }), masterKey);
}

/** The kind's part of the repository view (GET /api/repos/...): never the credentials. */
export function kindView(cfg: KindConfig): Record<string, unknown> {
  if (cfg.kind === 'remote') {
    const { metadataTtl, offline, cacheMaxBytes, timeoutSeconds } = cfg.remote;
    const auth = cfg.auth ? (cfg.auth.type === 'basic' ? { type: 'basic', username: cfg.auth.username } : { type: 'bearer' }) : null;
    return { upstream: cfg.upstream, remote: { metadataTtl, offline, cacheMaxBytes, timeoutSeconds, auth } };
  }
  if (cfg.kind === 'virtual') return { members: cfg.members, mergeRemoteProjects: cfg.remote.mergeRemoteProjects };
  return {};
}

/** The 400 an upload into a remote or virtual repository gets, naming where to upload instead. */
export async function refuseUploadInto(repos: RepoService, repo: RepoInfo | null): Promise<void> {
  if (!repo || !repo.kind || repo.kind === 'hosted') return;
  let hostedMember: string | undefined;
  for (const name of repo.members ?? []) {
    const m = await repos.find(repo.provider, name);
    if (m && (m.kind ?? 'hosted') === 'hosted') {
      hostedMember = name;
      break;
    }
  }
  const where = `${repo.provider}/${repo.name}`;
  if (repo.kind === 'remote') throw new BadRequestError(`${where} is a remote repository (a read-only cache of its upstream); upload to a hosted repository instead`, { kind: 'remote' });
  throw new BadRequestError(
    hostedMember
      ? `${where} is a virtual repository; upload to its hosted member "${hostedMember}" instead`
      : `${where} is a virtual repository without a hosted member; upload to a hosted repository and add it to the members`,
    { kind: 'virtual', hostedMember: hostedMember ?? null },
  );
}

function checkUpstreamUrl(provider: Provider, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError(`upstream "${raw}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadRequestError(`upstream must be an http or https URL, got ${url.protocol}`);
  // Credentials in the URL would be shown by every GET; they belong in "auth" (sealed).
  if (url.username || url.password) throw new BadRequestError('upstream must not carry credentials; pass them as "auth": {"type": "basic", ...}');
  try {
    provider.remote?.checkUpstream?.(raw);
  } catch (e) {
    throw new BadRequestError(`upstream ${raw}: ${(e as Error).message}`);
  }
  return raw;
}

/**
 * Create or change a remote/virtual repository. Returns the repository as now stored.
 * `onCreated` runs in the creating transaction (its `repository.created` event commits with it,
 * as a hosted repository's does with its first upload).
 */
export async function configureKind(db: Database, masterKey: string | undefined, provider: Provider, name: string, body: KindBody, onCreated?: (m: EntityManager, repo: RepoInfo) => Promise<void>): Promise<{ row: RepoRow; created: boolean }> {
  const repos = db.manager.getRepository(RepoEntity);
  const existing = await repos.findOne({ where: { provider: provider.name, name } });
  const values: Partial<RepoRow> = {};
  if (body.type === 'remote') {
    if (!provider.remote) throw new BadRequestError(`${provider.name} has no remote repositories`);
    const upstream = checkUpstreamUrl(provider, body.upstream);
    const prev = existing && existing.kind === 'remote' ? kindConfigOf(existing, masterKey) : null;
    const authValue = body.auth === undefined ? (prev?.auth ?? null) : body.auth;
    const config: RemoteConfig = {
      metadataTtl: body.metadataTtl,
      offline: body.offline,
      cacheMaxBytes: body.cacheMaxBytes,
      timeoutSeconds: body.timeoutSeconds,
      mergeRemoteProjects: false,
      ...(authValue ? { sealedAuth: sealPrivateKey(JSON.stringify(authValue), masterKey) } : {}),
    };
    Object.assign(values, { kind: 'remote', upstream, members: null, remoteConfig: JSON.stringify(config) });
  } else {
    if (!provider.virtual) throw new BadRequestError(`${provider.name} has no virtual repositories`);
    const seen = new Set<string>();
    for (const m of body.members) {
      if (m === name) throw new BadRequestError(`a virtual repository cannot be its own member ("${m}")`);
      if (seen.has(m)) throw new BadRequestError(`member "${m}" is listed twice`);
      seen.add(m);
      const member = await repos.findOne({ where: { provider: provider.name, name: m } });
      if (!member) throw new BadRequestError(`member "${m}" is not a ${provider.name} repository (create it first: upload to it, or PUT it as a remote)`);
      // Nesting would allow cycles and makes "first member wins" ambiguous.
      if (member.kind === 'virtual') throw new BadRequestError(`member "${m}" is itself a virtual repository; list its members instead`);
      if (member.kind === 'remote' && !provider.virtual.remoteMembers) {
        throw new BadRequestError(`member "${m}" is a remote repository; ${provider.name} virtual repositories merge hosted members only (${provider.name} clients list several sources natively: add the remote as its own source)`);
      }
    }
    const config = { ...DEFAULTS, mergeRemoteProjects: body.mergeRemoteProjects };
    Object.assign(values, { kind: 'virtual', upstream: null, members: JSON.stringify(body.members), remoteConfig: JSON.stringify(config) });
  }
  if (existing) {
    if ((existing.kind || 'hosted') === 'hosted') {
      const files = await db.manager.getRepository(FileEntity).count({ where: { repoId: existing.id } });
      if (files > 0) throw new ConflictError(`${provider.name}/${name} is a hosted repository with ${files} file(s); a hosted repository cannot become ${body.type} (delete its packages first, or pick another name)`);
    }
    const upstreamChanged = existing.kind === 'remote' && (values.kind !== 'remote' || existing.upstream !== values.upstream);
    await db.write(async (m) => {
      await m.getRepository(RepoEntity).update({ id: existing.id }, values);
      db.repoChanged(m, existing.id);
      // A new upstream: what was cached from the old one says nothing about it (gc removes the blobs).
      if (upstreamChanged) {
        await m.getRepository(RemoteObjectEntity).delete({ repoId: existing.id });
        await m.getRepository(RemoteLinkEntity).delete({ repoId: existing.id });
      }
    });
    return { row: await repos.findOneByOrFail({ id: existing.id }), created: false };
  }
  await db.write(async (m) => {
    await m.getRepository(RepoEntity).insert({ provider: provider.name, name, settings: '{}', createdAt: Date.now(), cacheHits: 0, cacheMisses: 0, ...values });
    if (onCreated) await onCreated(m, toRepoInfo(await m.getRepository(RepoEntity).findOneByOrFail({ provider: provider.name, name })));
  });
  return { row: await repos.findOneByOrFail({ provider: provider.name, name }), created: true };
}
