/**
 * The fastest honest fill of a big repository for a benchmark: a few packages go in through
 * HTTP as usual, then the server is stopped and one stored row (a template package) is copied
 * in SQL `count` times with its name replaced everywhere (`p0000001`, ...). Each copy is the
 * row an upload of that package would have stored, except that all share the template's blob.
 * SQLite only (the server's own driver, better-sqlite3).
 */
import { createRequire } from 'node:module';

/** better-sqlite3 ships no types: the little this uses. */
interface SqliteDb {
  prepare(sql: string): { all(): unknown[] };
  exec(sql: string): void;
  close(): void;
}
const Database = createRequire(__filename)('better-sqlite3') as new (file: string) => SqliteDb;

/** Columns holding the name: copied with it replaced. */
const NAMED = new Set(['name', 'name_key', 'partition', 'path', 'filename', 'entry', 'attachments', 'meta', 'index_data']);

/**
 * `count` copies of the rows named `template`, then every scope of the repository requested
 * once more, so the server's boot sweep publishes them, and an 'all' change recorded. `template` must not occur in anything
 * but names (pick a distinctive one).
 */
export function cloneRows(dbFile: string, template: string, count: number): void {
  const db = new Database(dbFile);
  try {
    const cols = (db.prepare('PRAGMA table_info(files)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
    const values = cols.map((c) => (NAMED.has(c) ? `replace(f.${c}, '${template}', printf('p%07d', n.i))` : `f.${c}`));
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
      INSERT INTO files (${cols.join(', ')}) SELECT ${values.join(', ')} FROM files f, n WHERE f.name = '${template}'`);
    db.exec(`UPDATE scopes SET requested_seq = requested_seq + 1 WHERE repo_id IN (SELECT repo_id FROM files WHERE name = '${template}')`);
    // As a write through the server would: the change recorded ('all': file_id 0), for the keys publishes cache (src/core/key-cache.ts).
    db.exec(`UPDATE file_change_seqs SET seq = seq + 1 WHERE repo_id IN (SELECT repo_id FROM files WHERE name = '${template}')`);
    db.exec(`INSERT INTO file_changes (repo_id, seq, file_id) SELECT repo_id, seq, 0 FROM file_change_seqs WHERE repo_id IN (SELECT repo_id FROM files WHERE name = '${template}')`);
  } finally {
    db.close();
  }
}
