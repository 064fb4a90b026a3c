/**
 * primary, filelists and other gzip'd in segments (docs/formats/rpm.md#segmented-compression):
 * each decompresses, with zlib and with gzip(1), to exactly the document the whole-file build
 * wrote (written out literally here), repomd's open-checksum and open-size describe that
 * document, a cold memo builds the same bytes, and one more package changes the compressed
 * bytes of the header segment (it holds the package count) and of one run of packages only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { EntryRow } from '../../../src/core/provider';
import { forgetGzipSegments } from '../../../src/util/segmented-gzip';
import { dataFiles, dataSegments, repomdXml } from '../../../providers/rpm/index-builder';
import { changedBytes } from '../../helpers/segments';
import { fragmentRow, fragmentRows } from './fragment-rows';

const row = fragmentRow;
const rowsOf = fragmentRows;

/** The three documents as the whole-file build wrote them (rows already in name order here). */
function wholeDocuments(rows: EntryRow[]): Record<string, Buffer> {
  const e = rows.map((r) => JSON.parse(r.entry) as Record<'primary' | 'filelists' | 'other', string>);
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
  return {
    primary: Buffer.from(`${decl}<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${rows.length}">\n${e.map((x) => x.primary).join('')}</metadata>\n`),
    filelists: Buffer.from(`${decl}<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="${rows.length}">\n${e.map((x) => x.filelists).join('')}</filelists>\n`),
    other: Buffer.from(`${decl}<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="${rows.length}">\n${e.map((x) => x.other).join('')}</otherdata>\n`),
  };
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('each data file is one gzip member of the whole document, read by gzip(1), and repomd describes it', async () => {
  const rows = rowsOf(500);
  const shuffled = [...rows].reverse(); // the builder sorts
  const files = await dataFiles(shuffled, 20);
  const whole = wholeDocuments(rows);
  assert.deepEqual(files.map((f) => f.type), ['primary', 'filelists', 'other']);
  assert.ok(dataSegments(shuffled, 20)[0]!.segments.length > 10, 'several segments');
  for (const f of files) {
    const plain = whole[f.type]!;
    assert.ok(zlib.gunzipSync(f.gz).equals(plain), `${f.type}: the plain document is unchanged`);
    assert.ok(execFileSync('gzip', ['-dc'], { input: f.gz, maxBuffer: 64 << 20 }).equals(plain), `${f.type}: gzip(1) reads it`);
    assert.ok(!zlib.gzipSync(plain, { level: 6 }).equals(f.gz), 'compressed in segments, not whole');
    assert.equal(f.gz.readUInt32LE(f.gz.length - 4), plain.length, 'one member: the trailer holds the whole length');
    assert.equal(f.openChecksum, sha256(plain));
    assert.equal(f.openSize, plain.length);
    assert.equal(f.checksum, sha256(f.gz));
  }
  const repomd = repomdXml(1700000000, files);
  assert.ok(repomd.includes(`<open-checksum type="sha256">${sha256(whole.filelists!)}</open-checksum>`));
  assert.ok(repomd.includes(`<location href="repodata/${sha256(files[0]!.gz)}-primary.xml.gz"/>`));
  assert.ok(repomd.includes(`<size>${files[2]!.gz.length}</size>\n    <open-size>${whole.other!.length}</open-size>`));
});

test('a cold memo builds the same bytes; one more package recompresses the header and one run only', async () => {
  const rows = rowsOf(400);
  const first = await dataFiles(rows, 20);
  forgetGzipSegments();
  const cold = await dataFiles(rows.map((r) => ({ ...r })), 20);
  first.forEach((f, i) => assert.ok(f.gz.equals(cold[i]!.gz), `${f.type}: same bytes from a cold memo`));

  const added = row(999, 'pkg0100a');
  const plus = [...rows, added];
  const segsBefore = dataSegments(rows, 20);
  const segsAfter = dataSegments(plus, 20);
  const after = await dataFiles(plus, 20);
  for (const [i, f] of after.entries()) {
    assert.ok(zlib.gunzipSync(f.gz).equals(wholeDocuments([...rows.slice(0, 101), added, ...rows.slice(101)])[f.type]!));
    const before = segsBefore[i]!.segments;
    const now = segsAfter[i]!.segments;
    assert.equal(now.length, before.length, 'the new name starts no segment of its own');
    const differing = now.map((s, j) => !s.equals(before[j]!)).reduce((n, d) => n + Number(d), 0);
    assert.equal(differing, 2, `${f.type}: the header (package count) and the run holding the new package`);
    const { prefix, suffix, changed } = await changedBytes({ gz: first[i]!.gz, first: before[0] }, { gz: f.gz, first: now[0] }, 6);
    assert.ok(prefix > f.gz.length / 10 && suffix > f.gz.length / 2, `${f.type}: shared compressed bytes before (${prefix}) and after (${suffix}) the change`);
    assert.ok(changed < f.gz.length / 8, `${f.type}: ${changed} of ${f.gz.length} bytes compressed anew`);
  }
});

test('an empty group gets valid empty documents', async () => {
  const files = await dataFiles([]);
  for (const [i, f] of files.entries()) assert.ok(zlib.gunzipSync(f.gz).equals(Object.values(wholeDocuments([]))[i]!));
});
