import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { aptProvider } from '../../../providers/apt';
import { poolPrefix, relationNames } from '../../../providers/apt/entry';
import { buildDeb, controlText, fileHashes, tmpDir, uploadInput, type DebCompression } from './helpers';

/** Control files with fields in odd orders, unknown fields, multi-line values, epochs, ~ and Source. */
const CONTROLS: [string, DebCompression][] = [
  [
    'Description: says hello\n A longer description\n .\n with an empty line and   trailing spaces   \n    and indentation.\n' +
      'XB-Custom-Field: value\nPackage: hello-world\nSource: hello-src (1.0-0)\nVersion: 1:2.0~rc1-1+b1\nArchitecture: amd64\n' +
      'Maintainer: Jane Doe <jane@example.org>\nInstalled-Size: 12\nPre-Depends: libc6 (>= 2.34)\n' +
      'Depends: libfoo1 (>= 1.0) | libbar1, python3:any, baz (<< 3~)\nRecommends: qux\nSection: utils\n' +
      'Priority: optional\nMulti-Arch: foreign\nHomepage: https://example.org/hello\nX-Other: yes\nAaa-Field: first\n' +
      'Provides: hello (= 2.0)\nConflicts: hello-legacy\nBreaks: old (<< 1)\nReplaces: old\nSuggests: docs\nEnhances: thing\n' +
      'Built-Using: gcc-12 (= 12.2.0-14)\nEssential: no\n',
    'xz',
  ],
  [controlText({ Package: 'common-data', Version: '0.1-1', Architecture: 'all', Maintainer: 'A <a@example.org>', Description: 'data' }), 'gzip'],
  [controlText({ Package: 'libzz1', Source: 'libzz', Version: '3.0-2', Architecture: 'arm64', Maintainer: 'B <b@example.org>', 'Multi-Arch': 'same', Description: 'lib\n .\n ..\n end' }), 'zstd'],
  [controlText({ Package: 'plain', Version: '1.0', Architecture: 'i386', Maintainer: 'C <c@example.org>', Description: 'uncompressed members' }), 'none'],
];

/** Split a Packages file into stanzas keyed by Filename. */
function stanzasByFilename(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of text.split(/\n\n+/)) {
    if (!s.trim()) continue;
    const fn = /^Filename: (.*)$/m.exec(s)![1];
    out.set(fn, s + '\n');
  }
  return out;
}

test('Packages stanza equals dpkg-scanpackages output (plus SHA512)', async () => {
  const dir = tmpDir();
  const repo = path.join(dir, 'repo');
  const ours = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const [control, comp] of CONTROLS) {
    const deb = buildDeb(dir, control, comp);
    const p = await parseRendered(aptProvider, uploadInput(deb, { component: 'main' }));
    fs.mkdirSync(path.join(repo, path.dirname(p.path)), { recursive: true });
    fs.copyFileSync(deb, path.join(repo, p.path));
    ours.set(p.path, p.entry);
    hashes.set(p.path, fileHashes(deb).sha512);
  }
  const out = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const theirs = stanzasByFilename(out);
  assert.equal(theirs.size, CONTROLS.length);
  for (const [fn, entry] of ours) {
    assert.ok(theirs.has(fn), `dpkg-scanpackages has a stanza for ${fn}`);
    const sha512 = `SHA512: ${hashes.get(fn)}\n`;
    assert.ok(entry.includes(sha512), `${fn}: SHA512 line`);
    // Same fields, same values, same order: byte-identical once our extra SHA512 line is removed.
    assert.equal(entry.replace(sha512, ''), theirs.get(fn), fn);
  }
});

test('fields the repository computes replace copies in the control file', async () => {
  const dir = tmpDir();
  const deb = buildDeb(dir, controlText({ Package: 'sneaky', Version: '1', Architecture: 'amd64', Maintainer: 'M <m@example.org>', Description: 'd', Size: '1', SHA256: 'bad' }));
  const p = await parseRendered(aptProvider, uploadInput(deb));
  const h = fileHashes(deb);
  assert.equal(p.entry.match(/^Size: .*$/gm)!.join('|'), `Size: ${fs.statSync(deb).size}`);
  assert.equal(p.entry.match(/^SHA256: .*$/gm)!.join('|'), `SHA256: ${h.sha256}`);
  assert.match(p.entry, new RegExp(`^MD5sum: ${h.md5}$`, 'm'));
  assert.match(p.entry, new RegExp(`^SHA1: ${h.sha1}$`, 'm'));
  assert.match(p.entry, /^Filename: pool\/main\/s\/sneaky\/sneaky_1_amd64.deb$/m);
});

test('pool prefixes and relation names', () => {
  assert.equal(poolPrefix('hello'), 'h');
  assert.equal(poolPrefix('libfoo'), 'libf');
  assert.equal(poolPrefix('lib'), 'l');
  assert.equal(poolPrefix('0ad'), '0');
  assert.deepEqual(relationNames('a (>= 1) | b:any [amd64] <!nocheck>, c'), ['a', 'b', 'c']);
  assert.deepEqual(relationNames(undefined), []);
});

test('field names are capitalized like dpkg-scanpackages does', async () => {
  const dir = tmpDir();
  const repo = path.join(dir, 'repo');
  const control = 'Package: xx\nVersion: 1\nArchitecture: all\nMaintainer: a <a@example.org>\nDescription: d\nXB-Custom-Field: v\nX-Foo-BAR: y\nXs-q: w\nDEPENDS: foo\nmulti-arch: foreign\n';
  const deb = buildDeb(dir, control, 'gzip');
  const p = await parseRendered(aptProvider, uploadInput(deb));
  fs.mkdirSync(path.join(repo, path.dirname(p.path)), { recursive: true });
  fs.copyFileSync(deb, path.join(repo, p.path));
  const out = execFileSync('dpkg-scanpackages', ['pool', '/dev/null'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(p.entry.replace(/^SHA512: .*\n/m, ''), out.replace(/\n+$/, '\n'));
});
