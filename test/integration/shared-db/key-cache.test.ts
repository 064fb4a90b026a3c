/**
 * Two instances sharing one database each keep their own cache of a scope's keys
 * (src/core/key-cache.ts): a publish on one brings its cache up to date with the changes the
 * other made since, from the shared change feed, and both serve an index that lists every
 * stored package. Runs on MariaDB, or PostgreSQL with TEST_DB=postgres.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, type TestServer } from '../../helpers/server';
import { createServerDatabase, sharedDbKind } from '../../helpers/test-db';
import { startS3rver, type S3rverHandle } from '../../helpers/s3';
import { upload } from '../../helpers/http';
import { synthPackage } from '../../helpers/synth-pacman';
import { tmpDir } from '../../unit/apt/helpers';
import { readDb } from '../pacman-tools';
import { keyCache } from '../../../src/core/key-cache';

const REPO = 'kc2';
let a: TestServer;
let b: TestServer;
let db: { url: string; drop: () => Promise<void> };
let s3: S3rverHandle;
const work = tmpDir('key-cache-shared-');

before(async () => {
  db = await createServerDatabase(sharedDbKind());
  // One bucket: an index either instance built is served by both.
  s3 = await startS3rver();
  const bucket = { url: s3.url('key-cache-bucket') };
  a = await startServer({ databaseUrl: db.url, s3: bucket });
  b = await startServer({ databaseUrl: db.url, s3: bucket });
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await s3?.stop();
  await db?.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function send(srv: TestServer, i: number): Promise<void> {
  const r = await upload(srv.url, await synthPackage(work, `sh${i}`, i), { provider: 'pacman', reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function names(srv: TestServer): Promise<string[]> {
  const r = await fetch(`${srv.url}/repo/pacman/${REPO}/x86_64/${REPO}.db`);
  assert.equal(r.status, 200);
  return [...(await readDb(Buffer.from(await r.arrayBuffer()))).keys()].map((k) => k.replace(/-[^-]+-[^-]+$/, '')).sort();
}

/** Publishes from each instance's cache since `fn` started: `changes` counts those brought up to date from the feed. */
async function fromChanges(fn: () => Promise<void>): Promise<number> {
  const before = keyCache.counts.changes;
  await fn();
  return keyCache.counts.changes - before;
}

test("each instance's cached keys see the other instance's uploads and deletes", async () => {
  // a builds (cold: every key), then b (cold), so both caches hold the scope's keys.
  await send(a, 0);
  await send(b, 1);
  // Alternating: each publish's cache is behind by the other's change and reads it from the feed.
  for (let i = 2; i < 8; i++) assert.equal(await fromChanges(() => send(i % 2 ? b : a, i)), 1, `upload ${i}`);
  const all = Array.from({ length: 8 }, (_, i) => `sh${i}`).sort();
  assert.deepEqual(await names(a), all);
  assert.deepEqual(await names(b), all);
  // A delete through b; then an upload through a, whose cache learns of the delete from the feed.
  const del = await fetch(`${b.url}/api/repos/pacman/${REPO}/packages/sh3`, { method: 'DELETE', headers: { Authorization: `Bearer ${b.env.ADMIN_TOKEN}` } });
  assert.equal(del.status, 200);
  assert.equal(await fromChanges(() => send(a, 8)), 1);
  const now = [...all.filter((n) => n !== 'sh3'), 'sh8'].sort();
  assert.deepEqual(await names(a), now);
  assert.deepEqual(await names(b), now);
});
