/**
 * Listing scopes (Provider.listingScopes): index scopes built from which partitions hold files,
 * not from the files themselves, such as PyPI's /simple/ project list. A change republishes
 * them only when it makes a partition appear (its first file) or disappear (its last), so a new
 * version of one of 100,000 projects rebuilds that project's page alone (issue 19).
 *
 * Whether a partition holds files is read inside the changing transaction, and it must not be
 * read while another writer of the same partition is still in flight: two transactions deleting
 * the last two files of a project would each still see the other's file, and neither would
 * republish the list. Every writer of a partition bumps the partition's own scopes (scopesFor),
 * so a transaction that may change a listing first takes those rows' locks
 * (Publisher.lockInTx, before any read), and its reads then see every earlier writer of the partition committed:
 * PostgreSQL reads each statement at read committed; MySQL's repeatable read takes its snapshot
 * at the first plain read, which now comes after the locks; SQLite runs one writer at a time.
 */
import type { EntityManager } from 'typeorm';
import { FileEntity } from '../db/entities';
import type { Provider, ScopeContext } from './provider';

/** The scopes a change to files of these partitions touches: their own, and per partition its listing scopes. */
export interface PartitionScopes {
  scopes: string[];
  listing: Map<string, string[]>;
}

export async function scopesOfPartitions(provider: Provider, ctx: ScopeContext, partitions: Iterable<string>): Promise<PartitionScopes> {
  const scopes = new Set<string>();
  const listing = new Map<string, string[]>();
  for (const p of new Set(partitions)) {
    for (const s of await provider.scopesFor(p, ctx)) scopes.add(s);
    const l = (await provider.listingScopes?.(p, ctx)) ?? [];
    if (l.length) listing.set(p, l);
  }
  return { scopes: [...scopes].sort(), listing };
}

/** Every scope `ps` may bump: the rows ensureScopes must create before the transaction. */
export function allOf(ps: PartitionScopes): string[] {
  return [...new Set([...ps.scopes, ...[...ps.listing.values()].flat()])].sort();
}

/** Which of `partitions` hold at least one file of the repository (hidden ones too, as ScopeContext.partitions counts them). */
export async function partitionsWithFiles(m: EntityManager, repoId: number, partitions: string[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (let i = 0; i < partitions.length; i += 200) {
    const part = partitions.slice(i, i + 200);
    const rows = (await m
      .getRepository(FileEntity)
      .createQueryBuilder('f')
      .select('DISTINCT f.partition', 'partition')
      .where('f.repo_id = :repoId AND f.partition IN (:...part)', { repoId, part })
      .getRawMany()) as { partition: string }[];
    for (const r of rows) held.add(r.partition);
  }
  return held;
}

/** The listing scopes to bump for partitions whose having-files changed (`changed(p)`). */
export function listingsToBump(listing: Map<string, string[]>, changed: (partition: string) => boolean): string[] {
  const out = new Set<string>();
  for (const [p, scopes] of listing) if (changed(p)) for (const s of scopes) out.add(s);
  return [...out];
}
