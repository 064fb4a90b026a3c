/**
 * The write order of a static sync (src/core/static-publish/static-publisher.ts): immutable
 * files first, index files at new paths next, replaced index files last, deepest first, a
 * detached signature before the file it signs (found through Provider.indexPartners).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderWrites, type WantedFile } from '../../../src/core/static-publish/static-publisher';
import { getProvider } from '../../../src/core/provider-registry';

const file = (path: string, stage: 1 | 2): WantedFile => ({ path, sha256: 'x', size: 1, contentType: 'application/octet-stream', stage });
const held = (...paths: string[]) => new Map(paths.map((p) => [p, { size: 1, modified: 0 }]));

test('apt: packages and by-hash first, then Packages, then InRelease', () => {
  const files = [
    file('dists/stable/InRelease', 2),
    file('dists/stable/main/binary-amd64/Packages', 2),
    file('dists/stable/main/binary-amd64/by-hash/SHA256/abc', 1),
    file('pool/main/h/hello/hello_1.0_amd64.deb', 1),
    file('dists/stable/main/binary-arm64/Packages', 2),
  ];
  const order = orderWrites(files, held('dists/stable/InRelease', 'dists/stable/main/binary-amd64/Packages'), getProvider('apt')).map((b) => b.map((f) => f.path).sort());
  assert.deepEqual(order, [
    ['dists/stable/main/binary-amd64/by-hash/SHA256/abc', 'pool/main/h/hello/hello_1.0_amd64.deb'],
    ['dists/stable/main/binary-arm64/Packages'],
    ['dists/stable/main/binary-amd64/Packages'],
    ['dists/stable/InRelease'],
  ]);
});

test('pacman: <repo>.db.sig is replaced before <repo>.db; rpm: repomd.xml.asc before repomd.xml', () => {
  const pac = orderWrites([file('x86_64/r.db', 2), file('x86_64/r.db.sig', 2), file('x86_64/r.files', 2), file('x86_64/r.files.sig', 2)], held('x86_64/r.db', 'x86_64/r.db.sig', 'x86_64/r.files', 'x86_64/r.files.sig'), getProvider('pacman'));
  assert.deepEqual(pac.map((b) => b.map((f) => f.path).sort()), [['x86_64/r.db.sig', 'x86_64/r.files.sig'], ['x86_64/r.db', 'x86_64/r.files']]);
  const rpm = orderWrites([file('repodata/repomd.xml', 2), file('repodata/repomd.xml.asc', 2)], held('repodata/repomd.xml', 'repodata/repomd.xml.asc'), getProvider('rpm'));
  assert.deepEqual(rpm.map((b) => b.map((f) => f.path)), [['repodata/repomd.xml.asc'], ['repodata/repomd.xml']]);
});

test('static aliases: a pacman any package under each arch, an apk noarch package under each arch of its branch', () => {
  assert.deepEqual(getProvider('pacman').staticAliases!('any/tool-1-1-any.pkg.tar.zst', ['aarch64', 'x86_64']), ['aarch64/tool-1-1-any.pkg.tar.zst', 'x86_64/tool-1-1-any.pkg.tar.zst']);
  assert.deepEqual(getProvider('pacman').staticAliases!('x86_64/tool-1-1-x86_64.pkg.tar.zst', ['x86_64']), []);
  assert.deepEqual(getProvider('apk').staticAliases!('main/noarch/a-1.0-r0.apk', ['main/x86_64', 'main/noarch', 'edge/aarch64']), ['main/x86_64/a-1.0-r0.apk']);
  assert.equal(getProvider('rpm').staticPath!(`el9/repodata/by-hash/${'a'.repeat(64)}-primary.xml.gz`), `el9/repodata/${'a'.repeat(64)}-primary.xml.gz`);
  assert.equal(getProvider('rpm').staticPath!('repodata/repomd.xml'), null);
});
