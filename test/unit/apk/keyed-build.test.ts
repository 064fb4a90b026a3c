/**
 * The unsigned APKINDEX built from keys first (PublishContext.keyed, src/core/run-memo.ts): the
 * same bytes as from every row (noarch records rewritten per index arch, memoized per arch), and
 * a publish after one upload reads only the rows of the run that changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runMemo, unsignedIndex, unsignedIndexKeyed } from '../../../providers/apk/index-builder';
import { keyedOf, type RevRow } from '../../helpers/keyed-entries';

function row(id: number, name: string, arch = id % 20 === 0 ? 'noarch' : 'x86_64'): RevRow {
  const entry = `C:Q1${Buffer.from(name).toString('base64').padEnd(27, 'A')}=\nP:${name}\nV:1.0-r0\nA:${arch}\nS:${1000 + id}\nI:${4096 + id}\nT:${name}\nL:MIT\n`;
  return { id, rev: 0, name, version: '1.0-r0', arch, filename: `${name}-1.0-r0.apk`, path: `main/${arch}/${name}-1.0-r0.apk`, partition: `main/${arch}`, entry, meta: {}, size: 1000 + id, hashes: { sha256: '0'.repeat(64) }, createdAt: new Date(0), yanked: null };
}
const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => row(i + 1, `pkg${String(i).padStart(4, '0')}`));
const PARTS = ['main/x86_64', 'main/noarch'];

test('keys first: the same unsigned index as from every row, per arch; one upload later, one run read', async () => {
  runMemo.clear();
  const rows = rowsOf(500);
  for (const arch of ['x86_64', 'aarch64']) {
    const listed = rows.filter((r) => r.arch === arch || r.arch === 'noarch').map((r) => ({ ...r, partition: r.arch === 'noarch' ? 'main/noarch' : `main/${arch}` }));
    const parts = [`main/${arch}`, 'main/noarch'];
    const keyed = keyedOf(listed);
    assert.ok((await unsignedIndexKeyed('d', keyed, parts, arch, 20)).equals(await unsignedIndex('d', listed, arch, 20)), arch);
  }
  const more = [...rows, row(900, 'pkg0250a', 'x86_64')];
  const second = keyedOf(more);
  assert.ok((await unsignedIndexKeyed('d', second, PARTS, 'x86_64', 20)).equals(await unsignedIndex('d', more, 'x86_64', 20)));
  assert.ok(second.read > 0 && second.read < 100, `only the changed run was read (${second.read} rows)`);
});
