/**
 * Segmented db/files archives (docs/formats/pacman.md#segmented-compression): the assembled
 * gzip is one member holding exactly the tar a single writeTar of every entry gives, libarchive
 * (bsdtar, what libalpm reads the db with) lists every package, a cold memo builds the same
 * bytes, and one upload changes only the compressed bytes around its segment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildDatabases } from '../../../providers/pacman/index-builder';
import { encodeEntry } from '../../../providers/pacman/entry';
import type { EntryRow } from '../../../src/core/provider';
import { forgetGzipSegments } from '../../../src/util/segmented-gzip';
import { writeTar, type TarItem } from '../../../src/util/tar-writer';
import { sharedPrefix } from '../../helpers/segments';

function row(id: number, name: string, version = '1.0-1'): EntryRow {
  const desc = `%FILENAME%\n${name}-${version}-x86_64.pkg.tar.zst\n\n%NAME%\n${name}\n\n%VERSION%\n${version}\n\n`;
  const entry = encodeEntry({ desc, files: `%FILES%\nusr/bin/${name}\n` });
  return { id, name, version, arch: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, path: `x86_64/${name}.pkg.tar.zst`, partition: 'x86_64', entry, meta: {}, size: 1, hashes: { sha256: '0'.repeat(64) }, createdAt: new Date(1_700_000_000_000 + id * 1000), yanked: null };
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => row(i + 1, `pkg${String(i).padStart(4, '0')}`));

/** The tar the archives held before segmenting: every entry in one writeTar. */
function wholeTar(rows: EntryRow[], withFiles: boolean): Buffer {
  const items: TarItem[] = [];
  for (const r of [...rows].sort((a, b) => Buffer.compare(Buffer.from(`${a.name}-${a.version}`), Buffer.from(`${b.name}-${b.version}`)))) {
    const mtime = new Date(Math.floor(r.createdAt.getTime() / 1000) * 1000);
    const e = JSON.parse(r.entry) as { desc: string; files: string };
    items.push({ name: `${r.name}-${r.version}/`, mtime }, { name: `${r.name}-${r.version}/desc`, data: Buffer.from(e.desc), mtime });
    if (withFiles) items.push({ name: `${r.name}-${r.version}/files`, data: Buffer.from(e.files), mtime });
  }
  return writeTar(items);
}

test('db and files are one gzip member of the same tar as before, of several deflate segments, read by bsdtar', async () => {
  const rows = rowsOf(600);
  const { db, files } = await buildDatabases(rows, 20);
  assert.ok(zlib.gunzipSync(db).equals(wholeTar(rows, false)), 'db: the plain tar is unchanged');
  assert.ok(zlib.gunzipSync(files).equals(wholeTar(rows, true)), 'files: the plain tar is unchanged');
  assert.ok(!zlib.gzipSync(wholeTar(rows, false), { level: 6 }).equals(db), 'compressed in segments, not whole');
  // One member: the trailer's length is the whole tar's.
  assert.equal(db.readUInt32LE(db.length - 4), wholeTar(rows, false).length);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pacman-seg-'));
  fs.writeFileSync(path.join(dir, 'r.db'), db);
  const listed = execFileSync('bsdtar', ['-tf', path.join(dir, 'r.db')]).toString().trim().split('\n');
  assert.equal(listed.filter((l) => l.endsWith('/desc')).length, 600);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a cold memo builds the same bytes; one more package leaves most compressed bytes in place', async () => {
  const rows = rowsOf(400);
  const first = await buildDatabases(rows, 20);
  forgetGzipSegments();
  const cold = await buildDatabases(rows.map((r) => ({ ...r })), 20);
  assert.ok(first.db.equals(cold.db) && first.files.equals(cold.files));
  const plus = await buildDatabases([...rows, row(999, 'pkg0200a')], 20);
  assert.ok(zlib.gunzipSync(plus.db).equals(wholeTar([...rows, row(999, 'pkg0200a')], false)));
  // The bytes before the changed segment are identical (same prefix of deflate parts).
  const same = sharedPrefix(first.db, plus.db);
  assert.ok(same > first.db.length / 4, `a shared compressed prefix (${same} of ${first.db.length} bytes)`);
});

test('an empty architecture gets a valid empty archive', async () => {
  const { db } = await buildDatabases([]);
  assert.ok(zlib.gunzipSync(db).equals(Buffer.alloc(1024)));
});
