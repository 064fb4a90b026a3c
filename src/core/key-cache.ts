/**
 * The keys of a publish (PublishContext.keyed.keys) without reading every key again: a
 * per-process cache of what loadKeys answered, brought up to date from a per-repository change
 * feed (issue 19). At 100,000 packages on SQLite a full loadKeys is ~150-200 ms of an add-1; a
 * publish after a few changes reads the ids changed since and those ids' keys.
 *
 * The feed (migrations/1765400000000-FileChanges.ts): every write transaction that inserts,
 * deletes or updates what an index shows of file rows of a repository calls `recordFileChanges`
 * as its last lock: it raises the repository's `file_change_seqs.seq` (an update: the row's lock
 * is held until commit) and inserts one `file_changes` row per file id with the new seq
 * (file_id 0: every file of the repository may have changed).
 *
 * Why a cached answer is exact. Seqs of a repository commit in order (a writer holds the seq
 * row's lock from its bump to its commit; SQLite has one writer), and a change row commits with
 * its bump. So once a read sees seq C committed, every change with seq <= C is committed and
 * visible. A cache entry at seq c holds keys read after c was seen (all changes <= c in it).
 * Brought to C: the ids of change rows with seq > c (every one <= C is visible) are read again
 * after that, and replace what the entry held of them; every other row has not changed since
 * c. A change with seq > C that is already visible may be in the answer or not, as in a full
 * read; the next build reads it (its seq is > C). The builder asked for the keys after it read
 * its scope's requested_seq, and every change that bumped it has a seq <= C: it is in.
 *
 * Unlike a feed per scope, a feed per repository does not depend on which scopes a change
 * bumps: pacman's `any` and apk's `noarch` are read by scopes a change of them does not always
 * bump (an architecture that holds nothing and is not configured), which a per-scope feed would
 * miss when such a scope is built later. An entry is keyed by the partitions read, not the scope.
 *
 * SQLite: a read outside a transaction runs on the connection of the open write transaction,
 * if any, and sees its uncommitted rows (a rollback would leave them in the cache under a seq
 * that is used again): an answer is cached only if no write transaction was open or started
 * while it was read (Database.writeMark / quiet).
 *
 * Verify mode (RunMemo.verify, PUBLISH_MEMO_VERIFY=1, every test server): every answer built
 * from the cache is compared with a full loadKeys, and a difference fails the publish, unless a
 * write committed in between (the seq moved, or SQLite saw a write transaction), which can explain it.
 */
import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import { FileChangeEntity, FileChangeSeqEntity } from '../db/entities';
import { loadKeys, loadKeysByIds } from './entry-loader';
import type { EntryKey } from './provider';
import { RunMemo } from './run-memo';

/** Seqs a cache entry may fall behind and still be brought up to date; change rows older than that are pruned. */
export const KEY_CHANGES_RETAIN = 1000;
/** A writer whose seq is a multiple of this prunes its repository's change rows older than RETAIN. */
export const KEY_CHANGES_PRUNE_EVERY = 100;
/** Keys held by every entry of the process together, at most (least recently used go first). */
export const KEY_CACHE_MAX_KEYS = 1_000_000;
/** Change rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_ROWS = 200;

/**
 * Inside the caller's write transaction, after every other lock it takes (the seq row's lock is
 * the last one, so its holder never waits for another): record that these file rows of
 * `repoId` changed ('all': any of them may have). Nothing for none. The repository's seq row must
 * exist (ensureFileChangeSeq).
 */
export async function recordFileChanges(m: EntityManager, repoId: number, changed: readonly number[] | 'all'): Promise<void> {
  const ids = changed === 'all' ? [0] : [...new Set(changed)];
  if (ids.length === 0) return;
  const seqs = m.getRepository(FileChangeSeqEntity);
  await seqs.createQueryBuilder().update().set({ seq: () => 'seq + 1' }).where('repo_id = :repoId', { repoId }).execute();
  const row = await seqs.findOne({ where: { repoId } });
  if (!row) throw new Error(`repository ${repoId} has no file_change_seqs row (ensureScopes first)`);
  const seq = row.seq;
  const changes = m.getRepository(FileChangeEntity);
  for (let i = 0; i < ids.length; i += INSERT_ROWS) await changes.insert(ids.slice(i, i + INSERT_ROWS).map((fileId) => ({ repoId, seq, fileId })));
  if (seq % KEY_CHANGES_PRUNE_EVERY === 0 && seq > KEY_CHANGES_RETAIN) {
    const pruned = seq - KEY_CHANGES_RETAIN;
    await changes.createQueryBuilder().delete().where('repo_id = :repoId AND seq <= :pruned', { repoId, pruned }).execute();
    await seqs.createQueryBuilder().update().set({ pruned }).where('repo_id = :repoId', { repoId }).execute();
  }
}

const ensured = new WeakMap<Database, Set<number>>();

/** The repository's seq row, created outside any transaction (inserting inside one would race on MySQL); once per process. */
export async function ensureFileChangeSeq(db: Database, repoId: number): Promise<void> {
  const done = ensured.get(db) ?? ensured.set(db, new Set()).get(db)!;
  if (done.has(repoId)) return;
  const seqs = db.manager.getRepository(FileChangeSeqEntity);
  if (!(await seqs.findOne({ where: { repoId } }))) {
    await db.write((m) => m.getRepository(FileChangeSeqEntity).createQueryBuilder().insert().values({ repoId, seq: 0, pruned: 0 }).orIgnore().execute());
  }
  done.add(repoId);
}

/** The repository's seq and pruned mark as committed now (null: no row yet). */
async function readSeq(m: EntityManager, repoId: number): Promise<{ seq: number; pruned: number } | null> {
  const row = await m.getRepository(FileChangeSeqEntity).findOne({ where: { repoId } });
  return row ? { seq: row.seq, pruned: row.pruned } : null;
}

interface Entry {
  seq: number;
  keys: readonly EntryKey[];
}

const sameKey = (a: EntryKey, b: EntryKey) =>
  a.id === b.id && a.rev === b.rev && a.name === b.name && a.version === b.version && a.arch === b.arch && a.partition === b.partition && a.createdAt.getTime() === b.createdAt.getTime();

/** The first difference between two key lists, or null. */
function difference(got: readonly EntryKey[], want: readonly EntryKey[]): string | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || !sameKey(g, w)) return `at ${i}: cached ${g ? JSON.stringify(g) : 'nothing'}, stored ${w ? JSON.stringify(w) : 'nothing'} (${got.length} cached keys, ${want.length} stored)`;
  }
  return null;
}

/** `cached` without the `changed` ids, and `fresh` (ordered by id, ids all in `changed`) merged in id order. */
function merged(cached: readonly EntryKey[], changed: ReadonlySet<number>, fresh: readonly EntryKey[]): EntryKey[] {
  const out: EntryKey[] = [];
  let j = 0;
  for (const k of cached) {
    if (changed.has(k.id)) continue;
    while (j < fresh.length && fresh[j]!.id < k.id) out.push(fresh[j++]!);
    out.push(k);
  }
  while (j < fresh.length) out.push(fresh[j++]!);
  return out;
}

/** How each answer was made (tests and the publish log). */
export type KeysSource = 'full' | 'cached' | 'changes';

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;
  /** Answers by source since start (tests). */
  readonly counts: Record<KeysSource, number> = { full: 0, cached: 0, changes: 0 };

  constructor(private readonly maxKeys = KEY_CACHE_MAX_KEYS) {}

  /**
   * The keys loadKeys(m, repoId, partitions) would give now, in id order. `origin`: what the ids
   * are unique within (KeyedEntries.origin). The array is the caller's own.
   */
  async keys(db: Database, origin: string, repoId: number, partitions?: string[]): Promise<{ keys: EntryKey[]; source: KeysSource }> {
    const m = db.manager;
    const key = `${origin}\u0000${repoId}\u0000${partitions ? [...new Set(partitions)].sort().join('\u0001') : '\u0002all'}`;
    const mark = db.writeMark();
    const at = await readSeq(m, repoId);
    const entry = this.entries.get(key);
    let keys: readonly EntryKey[] | null = null;
    let source: KeysSource = 'full';
    if (entry && at && entry.seq <= at.seq && at.seq - entry.seq <= KEY_CHANGES_RETAIN && entry.seq >= at.pruned) {
      if (entry.seq === at.seq) {
        keys = entry.keys;
        source = 'cached';
      } else {
        const rows = (await m
          .getRepository(FileChangeEntity)
          .createQueryBuilder('c')
          .select('DISTINCT c.file_id', 'id')
          .where('c.repo_id = :repoId AND c.seq > :since', { repoId, since: entry.seq })
          .getRawMany()) as { id: string | number }[];
        const ids = rows.map((r) => Number(r.id));
        // Pruned meanwhile (a writer far ahead): some changes may be gone.
        const after = await readSeq(m, repoId);
        if (after && entry.seq >= after.pruned && !ids.includes(0) && ids.length <= Math.max(16, entry.keys.length / 4)) {
          const fresh = await loadKeysByIds(m, repoId, ids, partitions);
          keys = merged(entry.keys, new Set(ids), fresh);
          source = 'changes';
        }
      }
    }
    keys ??= await loadKeys(m, repoId, partitions);
    let cacheable = at !== null;
    if (RunMemo.verify && source !== 'full') {
      const stored = await loadKeys(m, repoId, partitions);
      const diff = difference(keys, stored);
      if (diff) {
        const now = await readSeq(m, repoId);
        if (db.quiet(mark) && now?.seq === at?.seq) {
          throw new Error(`stale key cache (${source}) of repository ${repoId}${partitions ? ` [${partitions.join(', ')}]` : ''} at change seq ${at?.seq}: ${diff}; a write of file rows did not record its change (recordFileChanges)`);
        }
        // A write committed between the two reads: the full read is the answer.
        keys = stored;
        source = 'full';
        cacheable = false;
      }
    }
    if (cacheable && db.quiet(mark)) this.store(key, { seq: at!.seq, keys });
    this.counts[source]++;
    return { keys: keys.slice(), source };
  }

  private store(key: string, entry: Entry): void {
    const before = this.entries.get(key);
    if (before && before.seq > entry.seq) return; // a newer answer is already here
    if (before) {
      this.entries.delete(key);
      this.held -= before.keys.length;
    }
    if (entry.keys.length > this.maxKeys) return;
    this.entries.set(key, entry);
    this.held += entry.keys.length;
    for (const [k, e] of this.entries) {
      if (this.held <= this.maxKeys) break;
      this.entries.delete(k);
      this.held -= e.keys.length;
    }
  }

  /** Tests: a cold process. */
  clear(): void {
    this.entries.clear();
    this.held = 0;
  }
}

/** The process's cache (entries keyed by origin: several servers in one process stay apart). */
export const keyCache = new KeyCache();
