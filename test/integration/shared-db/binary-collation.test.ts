/**
 * Migration 1763700000000 on MariaDB: identifier columns compare byte for byte (utf8mb4_bin)
 * on a database whose default collation is case-insensitive, and `down` restores that default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../helpers/server';
import { testDbKind } from '../../helpers/test-db';
import { upload } from '../../helpers/http';
import { BinaryCollation1763700000000, TABLES } from '../../../migrations/1763700000000-BinaryCollation';

// MySQL/MariaDB only: SQLite and PostgreSQL compare names byte for byte already (the migration does nothing there).
test('names are utf8mb4_bin after the migration, the database default after down, and again after up', { skip: testDbKind() !== 'mysql' && 'the MariaDB pass runs it' }, async () => {
  const srv = await startServer({ db: 'mysql' });
  try {
    const ds = srv.services.db.ds;
    assert.equal((await upload(srv.url, { name: 'a.bin', data: Buffer.from('a') }, { provider: 'tar', reponame: 'App-secret', name: 'a', version: '1' })).status, 201);
    // The tables of this migration (later migrations make their own tables exact with exactCollation).
    const collations = async () =>
      Object.fromEntries(
        ((await ds.query(
          "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS col, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL AND TABLE_NAME <> 'migrations'",
        )) as { col: string; collation: string }[]).filter((r) => TABLES.includes(r.col.split('.')[0]!)).map((r) => [r.col, r.collation]),
      );
    const lowerMatches = async () => Number(((await ds.query("SELECT COUNT(*) AS n FROM repos WHERE name = 'app-secret'")) as { n: number | string }[])[0].n);
    const [{ dflt }] = (await ds.query('SELECT @@collation_database AS dflt')) as { dflt: string }[];
    assert.match(dflt, /_ci$/, 'the test database has a case-insensitive default, like a real one');

    const up = await collations();
    for (const col of ['repos.name', 'repos.provider', 'files.name', 'files.path', 'files.filename', 'scopes.scope', 'index_files.path', 'tokens.name', 'tokens.repo_pattern']) assert.equal(up[col], 'utf8mb4_bin', col);
    assert.ok(Object.values(up).every((c) => c === 'utf8mb4_bin'), JSON.stringify(up));
    // ...and every later table too (exactCollation in their migrations).
    const all = (await ds.query("SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS col, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL AND TABLE_NAME <> 'migrations'")) as { col: string; collation: string }[];
    assert.deepEqual(all.filter((r) => r.collation !== 'utf8mb4_bin').map((r) => r.col), []);
    assert.equal(await lowerMatches(), 0);

    // Later migrations follow it: run its down and up directly.
    const migration = new BinaryCollation1763700000000();
    const runner = ds.createQueryRunner();
    await migration.down(runner);
    assert.ok(Object.values(await collations()).every((c) => c === dflt));
    assert.equal(await lowerMatches(), 1, 'the default collation folds case: the bug the migration removes');

    await migration.up(runner);
    await runner.release();
    assert.ok(Object.values(await collations()).every((c) => c === 'utf8mb4_bin'));
    assert.equal(await lowerMatches(), 0);
    assert.equal((await srv.services.repos.find('tar', 'App-secret'))?.name, 'App-secret', 'the data survived down and up');
  } finally {
    await srv.stop();
  }
});
