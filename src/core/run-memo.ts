/**
 * What an index build made of a run of entries (a segment: compressed bytes, their checksum),
 * kept per process and keyed by the run's (id, rev) list, so the next publish of the scope
 * reuses it without reading those entries again (PublishContext.keyed, issue 19). `rev` is raised
 * by every update that can change what an index shows of a row (src/db/entities.ts `bumpRev`),
 * ids are never reused: the same list means the same rows, byte for byte.
 *
 * PUBLISH_MEMO_VERIFY=1 (the test suite's servers set it): every hit is built again from the entries
 * and compared, and a difference fails the publish. An update that forgot to raise `rev` then
 * fails a test instead of serving a stale index.
 */
import crypto from 'node:crypto';
import type { EntryKey, EntryRow, KeyedEntries } from './provider';

/** Whole rows read per query when runs must be built. */
const ROWS_PER_READ = 4000;

export class RunMemo<V> {
  /** PUBLISH_MEMO_VERIFY (set once at startup): every hit is rebuilt and compared. */
  static verify = false;

  private readonly memo = new Map<string, V>();
  private bytes = 0;

  /**
   * `kind` separates what different builds make of the same run (pacman's db and files);
   * `sizeOf` bounds the memo (least recently used go first past `maxBytes`); `same` compares a
   * rebuilt value with the memoized one in verify mode.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (v: V) => number,
    private readonly same: (a: V, b: V) => boolean,
  ) {}

  static keyOf(kind: string, run: readonly EntryKey[]): string {
    let text = kind;
    for (const k of run) text += `\u0000${k.id}:${k.rev}`;
    return crypto.createHash('sha256').update(text).digest('base64');
  }

  /**
   * The memoized value of each run, or undefined where it must be built (and `store`d). In
   * verify mode every run must be built; the memoized value is then what `store` compares with.
   */
  private lookup(kind: string, runs: readonly (readonly EntryKey[])[]): { keys: string[]; values: (V | undefined)[] } {
    const keys = runs.map((r) => RunMemo.keyOf(kind, r));
    const values = keys.map((k) => {
      const hit = this.memo.get(k);
      if (hit === undefined) return undefined;
      this.memo.delete(k); // most recently used last
      this.memo.set(k, hit);
      return RunMemo.verify ? undefined : hit;
    });
    return { keys, values };
  }

  private store(key: string, value: V): void {
    const before = this.memo.get(key);
    if (before !== undefined) {
      if (RunMemo.verify && !this.same(before, value)) throw new Error(`stale index memo: a run of entries was built differently with the same (id, rev) list; an update of a file row did not raise its rev (${key})`);
      return;
    }
    this.memo.set(key, value);
    this.bytes += this.sizeOf(value);
    for (const [k, v] of this.memo) {
      if (this.bytes <= this.maxBytes) break;
      this.memo.delete(k);
      this.bytes -= this.sizeOf(v);
    }
  }

  /**
   * Each run's value: memoized, or made from its whole rows (read with one `byIds` for every run
   * to make, so one changed run costs one query) and stored.
   */
  async values(kind: string, runs: readonly (readonly EntryKey[])[], keyed: KeyedEntries, make: (rows: EntryRow[]) => Promise<V>): Promise<V[]> {
    const { keys, values } = this.lookup(`${keyed.origin}\u0000${kind}`, runs);
    const missing = runs.flatMap((_, i) => (values[i] === undefined ? [i] : []));
    // Rows of a few thousand entries at a time: a cold process builds every run, and must not
    // hold every row for it.
    for (let from = 0; from < missing.length; ) {
      const batch: number[] = [];
      for (let n = 0; from < missing.length && (batch.length === 0 || n + runs[missing[from]!]!.length <= ROWS_PER_READ); from++) {
        batch.push(missing[from]!);
        n += runs[missing[from]!]!.length;
      }
      const rows = new Map((await keyed.byIds(batch.flatMap((i) => runs[i]!.map((k) => k.id)))).map((r) => [r.id, r]));
      for (const i of batch) {
        // A row deleted between the two reads (a concurrent delete commits; its own publish
        // follows) is left out; what the run became then is not what its keys name: not stored.
        const got = runs[i]!.flatMap((k) => rows.get(k.id) ?? []);
        values[i] = await make(got);
        if (got.length === runs[i]!.length) this.store(keys[i]!, values[i]!);
      }
    }
    return values as V[];
  }

  /** Tests: a cold process must build the same bytes as a warm one. */
  clear(): void {
    this.memo.clear();
    this.bytes = 0;
  }
}
