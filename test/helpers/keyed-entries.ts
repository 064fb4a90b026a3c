/** PublishContext.keyed over rows in memory, counting the rows read whole (tests of keyed index builds). */
import type { EntryKey, EntryRow, KeyedEntries } from '../../src/core/provider';

export type RevRow = EntryRow & { rev: number };

export function keyedOf(rows: RevRow[]): KeyedEntries & { read: number } {
  const k = {
    origin: 'test',
    read: 0,
    keys: async (partitions?: string[]): Promise<EntryKey[]> =>
      rows.filter((r) => !partitions || partitions.includes(r.partition)).sort((a, b) => a.id - b.id).map(({ id, rev, name, version, arch, partition, createdAt }) => ({ id, rev, name, version, arch, partition, createdAt })),
    byIds: async (ids: readonly number[]): Promise<EntryRow[]> => {
      const wanted = new Set(ids);
      const out = rows.filter((r) => wanted.has(r.id)).sort((a, b) => a.id - b.id);
      k.read += out.length;
      return out;
    },
  };
  return k;
}
