/**
 * DATABASE_URL: which databases it may name, what a bad one says, and which TypeORM driver
 * each one gets (building a DataSource does not connect, so no database is needed here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config/schema';
import { createDataSource, databaseKind, databaseKindOf } from '../../../src/db/data-source';

function databaseUrlError(url: string): string {
  try {
    loadConfig({ DATABASE_URL: url });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  return '';
}

test('postgres:// and postgresql:// are accepted next to sqlite: and mysql://', () => {
  for (const url of ['sqlite:/tmp/a.sqlite', 'mysql://u:p@db:3306/art', 'mariadb://u@db/art', 'postgres://u:p@db:5432/art', 'postgresql://u@db/art?sslmode=require']) {
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url, url);
  }
});

test('a server URL without a database name, or that is no URL, is refused with what to write', () => {
  for (const url of ['postgres://db', 'postgres://u:p@db:5432/', 'mysql://db', 'postgres://u:p@[db/art']) {
    const message = databaseUrlError(url);
    assert.match(message, /DATABASE_URL/, url);
    assert.match(message, /postgres:\/\/user:pass@host:5432\/db/, url);
  }
  assert.match(databaseUrlError('oracle://db/x'), /sqlite:<path>, mysql:\/\/.*or postgres:\/\//);
});

test('each URL gets its driver; pg is handed the whole URL as its connection string', () => {
  assert.equal(databaseKindOf('sqlite::memory:'), 'sqlite');
  assert.equal(databaseKindOf('mariadb://u@h/d'), 'mysql');
  assert.equal(databaseKindOf('postgresql://u@h/d'), 'postgres');
  const pg = createDataSource('postgres://art%40ifact:p%2Fw@db.example:6543/repo%2Dmeta?sslmode=require');
  assert.equal(pg.options.type, 'postgres');
  assert.equal(databaseKind(pg), 'postgres');
  const o = pg.options as { url?: string; database?: string };
  assert.equal(o.url, 'postgres://art%40ifact:p%2Fw@db.example:6543/repo%2Dmeta?sslmode=require');
  assert.equal(o.database, 'repo-meta', 'the decoded name, as the lock keys hash it');
  assert.equal(databaseKind(createDataSource('mysql://u:p@h:3306/d')), 'mysql');
  assert.equal(databaseKind(createDataSource('sqlite::memory:')), 'sqlite');
});
