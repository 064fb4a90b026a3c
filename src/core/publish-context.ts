/**
 * What the core gives a provider's scopesFor and buildIndex (the publish half of the provider
 * contract, src/core/provider.ts, which re-exports these): the repository, its partitions, its
 * entries (whole, or keys first) and its signer.
 */
import type { EntryRow, RepoInfo, RepoSigner } from './provider';

export interface ScopeContext {
  repo: RepoInfo;
  /** Distinct partitions that currently hold files in this repository. */
  partitions(): Promise<string[]>;
}

/** What an entry is without its text: enough to choose, order and cut entries into runs. */
export interface EntryKey {
  id: number;
  /** Raised by every update that can change what an index shows of the row. */
  rev: number;
  name: string;
  version: string;
  arch: string;
  partition: string;
  createdAt: Date;
}

/**
 * The entries of `entries()` read in two steps, for a build that memoizes what it makes of each
 * run of entries by the run's keys (src/core/run-memo.ts): the keys of all, then the whole rows
 * of the runs it has to build. So a publish of 100,000 entries reads and holds only the rows
 * that changed.
 */
export interface KeyedEntries {
  /**
   * What the ids are unique within (one per database a process uses: tests run several
   * servers in one process, each with its own ids from 1): part of every memo key.
   */
  origin: string;
  /** Same rows, same order as `entries(partitions)`. */
  keys(partitions?: string[]): Promise<EntryKey[]>;
  /** Whole rows by id (of `keys`), in id order. */
  byIds(ids: readonly number[]): Promise<EntryRow[]>;
}

export interface PublishContext extends ScopeContext {
  scope: string;
  now: Date;
  /** Stored files of the given partitions (all when omitted), excluding ones removed from the index; ordered by id. */
  entries(partitions?: string[]): Promise<EntryRow[]>;
  /**
   * The same entries by keys first. Absent when the entries are not the repository's own rows
   * as stored (a merging virtual's are its members', re-signed with its key): use `entries`.
   */
  keyed?: KeyedEntries;
  signer: RepoSigner;
}
