/**
 * The files.name_key migration on a database that already holds rows (SQLite, MariaDB
 * with TEST_DB=mysql or PostgreSQL with TEST_DB=postgres): up adds the column, backfills PEP 503 keys for PyPI repositories and
 * the names as they are elsewhere, and indexes (repo_id, name_key); down removes both and
 * keeps the rows; up runs again after down. The migrated database then serves lookups.
 */
import { FileNameKey1764000000000 } from '../../migrations/1764000000000-FileNameKey';
import { RepoKinds1765200000000 } from '../../migrations/1765200000000-RepoKinds';
import { IndexData1764700000000 } from '../../migrations/1764700000000-IndexData';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { Initial1763600000000 } from '../../migrations/1763600000000-Initial';
import { Catalog } from '../../src/core/catalog';
import { createDataSource } from '../../src/db/data-source';
import { Database } from '../../src/db/database';
import { createServerDatabase, testDbKind } from '../helpers/test-db';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function databaseUrl(): Promise<string> {
  const kind = testDbKind();
  if (kind !== 'sqlite') {
    const db = await createServerDatabase(kind);
    cleanups.push(db.drop);
    return db.url;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migration-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${path.join(dir, 'db.sqlite')}`;
}

/** The same database with only the migrations before name_key. */
function beforeNameKey(url: string): DataSource {
  const full = createDataSource(url);
  return new DataSource({ ...full.options, migrations: [Initial1763600000000], entities: [] });
}

async function insertFile(ds: DataSource, repoId: number, name: string, version: string): Promise<void> {
  const p = `${name}/${version}/${name}-${version}`;
  await ds.createQueryBuilder().insert().into('files', ['repo_id', 'name', 'version', 'arch', 'filename', 'path', 'partition', 'size', 'sha256', 'sha512', 'sha1', 'md5', 'meta', 'entry', 'attachments', 'yanked', 'hidden', 'created_at']).values({
    repo_id: repoId, name, version, arch: '', filename: `${name}-${version}`, path: p, partition: name, size: 10, sha256: 'a'.repeat(64), sha512: 'b'.repeat(128),
    sha1: 'c'.repeat(40), md5: 'd'.repeat(32), meta: '{}', entry: 'x', attachments: '[]', yanked: null, hidden: 0, created_at: Date.now(),
  }).execute();
}

async function nameKeys(ds: DataSource): Promise<Record<string, string>> {
  // Lower-case aliases: PostgreSQL folds unquoted ones.
  const rows = (await ds.query('SELECT f.repo_id AS repo_id, f.name AS name, f.name_key AS name_key FROM files f ORDER BY f.id')) as { repo_id: number | string; name: string; name_key: string }[];
  return Object.fromEntries(rows.map((r) => [`${r.repo_id}:${r.name}`, r.name_key]));
}

test(`name_key migration up, down and up again with rows (${testDbKind()})`, async () => {
  const url = await databaseUrl();
  const old = beforeNameKey(url);
  await old.initialize();
  await old.runMigrations({ transaction: 'each' });
  await old.query("INSERT INTO repos (provider, name, settings, created_at) VALUES ('pypi', 'py', '{}', 1), ('tar', 'files', '{}', 1)");
  const ids = Object.fromEntries(((await old.query('SELECT id, provider FROM repos')) as { id: number; provider: string }[]).map((r) => [r.provider, Number(r.id)]));
  for (const [name, version] of [['Acme_Core', '1.0'], ['acme.core', '2.0'], ['Zope..Interface', '1.0'], ['plain', '1.0']]) await insertFile(old, ids.pypi, name, version);
  for (const name of ['Acme_Core', 'Some.Tool']) await insertFile(old, ids.tar, name, '1.0');
  assert.ok(!(await old.createQueryRunner().getTable('files'))!.columns.some((c) => c.name === 'name_key'), 'starts without the column');
  await old.destroy();

  const ds = createDataSource(url);
  await ds.initialize();
  assert.deepEqual((await ds.runMigrations({ transaction: 'each' })).map((m) => m.name), migrations.slice(1).map((m) => m.name), 'every migration after Initial was pending');
  const expected = {
    [`${ids.pypi}:Acme_Core`]: 'acme-core',
    [`${ids.pypi}:acme.core`]: 'acme-core',
    [`${ids.pypi}:Zope..Interface`]: 'zope-interface',
    [`${ids.pypi}:plain`]: 'plain',
    // Other formats keep the name as it is: no PEP 503 outside PyPI.
    [`${ids.tar}:Acme_Core`]: 'Acme_Core',
    [`${ids.tar}:Some.Tool`]: 'Some.Tool',
  };
  assert.deepEqual(await nameKeys(ds), expected);
  const runner = ds.createQueryRunner();
  let table = (await runner.getTable('files'))!;
  const column = table.columns.find((c) => c.name === 'name_key')!;
  assert.equal(column.isNullable, false);
  assert.equal(String(column.length), '255');
  const index = table.indices.find((i) => i.name === 'ix_files_repo_name_key');
  assert.deepEqual(index?.columnNames, ['repo_id', 'name_key']);

  // The backfilled keys serve the catalog's one-lookup reads.
  const catalog = new Catalog(new Database(ds), true);
  const pypi = { id: ids.pypi, provider: 'pypi', name: 'py', settings: {} };
  assert.deepEqual((await catalog.filesOf(pypi, 'ACME-core')).map((f) => f.version), ['1.0', '2.0']);
  assert.deepEqual((await catalog.filesOf({ id: ids.tar, provider: 'tar', name: 'files', settings: {} }, 'acme-core')).length, 0, 'tar names are not normalized');

  // RepoKinds down drops its repos columns and the remote cache tables; up restores them.
  const kinds = new RepoKinds1765200000000();
  await kinds.down(runner);
  assert.ok(!(await runner.getTable('repos'))!.columns.some((c) => c.name === 'kind'), 'RepoKinds down drops repos.kind');
  assert.equal(await runner.hasTable('remote_objects'), false);
  assert.equal(await runner.hasTable('remote_links'), false);
  await kinds.up(runner);
  assert.ok((await runner.getTable('repos'))!.columns.some((c) => c.name === 'kind'));
  // Down in reverse order (later migrations touch other tables): IndexData (drops index_data), then FileNameKey.
  const indexData = new IndexData1764700000000();
  const nameKey = new FileNameKey1764000000000();
  await indexData.down(runner);
  table = (await runner.getTable('files'))!;
  assert.ok(!table.columns.some((c) => c.name === 'index_data'), 'IndexData down drops its column');
  assert.ok(table.columns.some((c) => c.name === 'name_key'), 'and only that');
  await nameKey.down(runner);
  table = (await runner.getTable('files'))!;
  assert.ok(!table.columns.some((c) => c.name === 'name_key'), 'down drops the column');
  assert.ok(!table.indices.some((i) => i.name === 'ix_files_repo_name_key'), 'down drops the index');
  assert.ok(table.indices.some((i) => i.name === 'ix_files_repo_name'), 'the other indexes stay');
  assert.equal(Number(((await ds.query('SELECT COUNT(*) AS n FROM files')) as { n: number }[])[0].n), 6, 'down keeps every row');

  await nameKey.up(runner);
  await indexData.up(runner);
  assert.deepEqual(await nameKeys(ds), expected, 'up again backfills the same keys');
  await runner.release();
  await ds.destroy();
  assert.ok(migrations.some((m) => m.name === 'FileNameKey1764000000000') && migrations.some((m) => m.name === 'IndexData1764700000000'));
});
