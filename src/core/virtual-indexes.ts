/**
 * Virtual repositories that publish their own merged, signed indexes (EntryMergedVirtual in
 * src/core/kind-contract.ts: apt, pacman, apk, rpm). The publisher asks here which repositories'
 * stored entries feed a scope, how they merge, and which virtuals a member's publish must
 * mark for republishing.
 */
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { RepoEntity, type RepoRow } from '../db/entities';
import { mergesEntries } from './kind-contract';
import type { EntryRow, RepoInfo } from './provider';
import { getProvider } from './provider-registry';

/** Whether this repository is a virtual one whose indexes are built from its members' entries. */
export function isEntryMergedVirtual(repo: RepoInfo): boolean {
  return repo.kind === 'virtual' && mergesEntries(getProvider(repo.provider).virtual);
}

/** Ids of the hosted members that exist, in member order (remote or virtual members are never listed, see kinds.ts). */
export async function hostedMemberIds(m: EntityManager, provider: string, members: string[]): Promise<number[]> {
  return (await hostedMembers(m, provider, members)).map((r) => r.id);
}

/** The hosted repositories among `members`, in the members' order (remote and missing ones left out). */
export async function hostedMembers(m: EntityManager, provider: string, members: string[]): Promise<{ id: number; name: string }[]> {
  if (members.length === 0) return [];
  const rows = await m.getRepository(RepoEntity).find({ where: { provider, name: In(members) }, select: { id: true, provider: true, name: true, kind: true } });
  // Exact names: a collation that folds case must not let "App" stand in for "app".
  const byName = new Map(rows.filter((r) => r.provider === provider && (r.kind || 'hosted') === 'hosted').map((r) => [r.name, r.id]));
  return members.flatMap((name) => (byName.has(name) ? [{ id: byName.get(name)!, name }] : []));
}

/**
 * The entry-merged virtuals that list repository `repoId` as a member (ascending id: the
 * order their scope rows are locked in, so concurrent transactions never deadlock on them).
 */
export async function virtualsListing(m: EntityManager, repoId: number): Promise<RepoRow[]> {
  const repo = await m.getRepository(RepoEntity).findOne({ where: { id: repoId }, select: { id: true, provider: true, name: true, kind: true } });
  if (!repo || (repo.kind || 'hosted') !== 'hosted') return [];
  if (!mergesEntries(getProvider(repo.provider).virtual)) return [];
  const virtuals = await m.getRepository(RepoEntity).find({ where: { provider: repo.provider, kind: 'virtual' }, order: { id: 'ASC' } });
  return virtuals.filter((v) => (JSON.parse(v.members || '[]') as string[]).includes(repo.name));
}

/**
 * Members' entries (each list in id order, lists in member order) -> the virtual's entries.
 * A row is left out when an earlier member has a row at the same path (one path, one set of
 * bytes: the served file is the first member's) or with the same name, version and
 * architecture in the same partition (first member wins; the issue's rule). Rows of one member
 * never hide each other: that member's own index lists them all.
 */
export function mergeMemberEntries(perMember: EntryRow[][]): EntryRow[] {
  const paths = new Set<string>();
  const builds = new Set<string>();
  const buildKey = (r: EntryRow) => `${r.partition}\u0000${r.name}\u0000${r.version}\u0000${r.arch}`;
  const out: EntryRow[] = [];
  for (const rows of perMember) {
    const kept = rows.filter((r) => !paths.has(r.path) && !builds.has(buildKey(r)));
    for (const r of kept) {
      paths.add(r.path);
      builds.add(buildKey(r));
    }
    out.push(...kept);
  }
  return out;
}
