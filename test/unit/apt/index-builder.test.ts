import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { aptProvider } from '../../../providers/apt';
import { DEFAULT_ARCHES } from '../../../providers/apt/index-builder';
import type { IndexFile, RepoInfo } from '../../../src/core/provider';
import { makeSigner, tmpDir, type TestKey } from './helpers';
import { fixtureRepo, type FixtureRepo } from './fixture-repo';

const repoInfo: RepoInfo = { id: 7, provider: 'apt', name: 'acme', settings: {} };
let key: TestKey;
let repo: FixtureRepo;
let files: IndexFile[];
const now = new Date('2026-11-21T10:00:00Z');

before(async () => {
  key = await makeSigner();
  repo = await fixtureRepo([
    { control: { Package: 'hello', Version: '1.0-1', Architecture: 'amd64' } },
    { control: { Package: 'hello', Version: '1:0.5-1', Architecture: 'amd64' } },
    { control: { Package: 'hello', Version: '2.0~rc1-1', Architecture: 'amd64' } },
    { control: { Package: 'common', Version: '1.0', Architecture: 'all' } },
    { control: { Package: 'legacy', Version: '1.0', Architecture: 'i386' } },
    { control: { Package: 'tool', Version: '1.0', Architecture: 'arm64' }, component: 'contrib' },
    { control: { Package: 'other', Version: '1.0', Architecture: 'amd64' }, dist: 'bookworm' },
  ]);
  files = await aptProvider.buildIndex(repo.context('dists/stable', key.signer, repoInfo, now));
});

const file = (p: string) => {
  const f = files.find((x) => x.path === p);
  assert.ok(f, `${p} is published`);
  return f;
};
const text = (p: string) => file(p).data.toString('utf8');

/** Release as a field map; hash lists as arrays of [hash, size, path]. */
function parseRelease(release: string): { fields: Map<string, string>; lists: Map<string, [string, number, string][]> } {
  const fields = new Map<string, string>();
  const lists = new Map<string, [string, number, string][]>();
  let current = '';
  for (const line of release.split('\n')) {
    if (line.startsWith(' ')) {
      const [h, size, p] = line.trim().split(/\s+/);
      lists.get(current)!.push([h, Number(size), p]);
    } else if (line) {
      const i = line.indexOf(':');
      current = line.slice(0, i);
      fields.set(current, line.slice(i + 1).trim());
      if (!fields.get(current)) lists.set(current, []);
    }
  }
  return { fields, lists };
}

test('scopes: one per distribution', async () => {
  const ctx = { repo: repoInfo, partitions: async () => [] };
  assert.deepEqual(await aptProvider.scopesFor('bionic/main', ctx), ['dists/bionic']);
  assert.deepEqual(await aptProvider.scopesFor('bionic/contrib', ctx), ['dists/bionic']);
});

test('publishes Release, InRelease, Release.gpg and Packages{,.gz,.xz} per component and architecture', () => {
  const arches = ['amd64', 'arm64', 'i386'];
  const expected = ['dists/stable/Release', 'dists/stable/InRelease', 'dists/stable/Release.gpg'];
  for (const comp of ['contrib', 'main']) for (const a of arches) for (const s of ['', '.gz', '.xz']) expected.push(`dists/stable/${comp}/binary-${a}/Packages${s}`);
  const canonical = files.filter((f) => !f.path.includes('/by-hash/')).map((f) => f.path);
  assert.deepEqual(canonical.sort(), expected.sort());
  assert.equal(file('dists/stable/Release.gpg').contentType, 'application/pgp-signature');
  assert.equal(file('dists/stable/main/binary-amd64/Packages.gz').contentType, 'application/gzip');
  assert.equal(file('dists/stable/main/binary-amd64/Packages.xz').contentType, 'application/x-xz');
  assert.ok(files.every((f) => !f.path.includes('bookworm')));
});

test('compressed Packages decompress (gzip -d, xz -d) to exactly Packages', () => {
  for (const f of files.filter((x) => /\/Packages$/.test(x.path))) {
    assert.ok(execFileSync('gzip', ['-dc'], { input: file(f.path + '.gz').data }).equals(f.data), f.path + '.gz');
    assert.ok(execFileSync('xz', ['-dc'], { input: file(f.path + '.xz').data }).equals(f.data), f.path + '.xz');
  }
});

test('Release lists every index file with correct sizes and MD5/SHA1/SHA256/SHA512', () => {
  const { fields, lists } = parseRelease(text('dists/stable/Release'));
  assert.equal(fields.get('Origin'), 'acme');
  assert.equal(fields.get('Label'), 'acme');
  assert.equal(fields.get('Suite'), 'stable');
  assert.equal(fields.get('Codename'), 'stable');
  assert.equal(fields.get('Date'), 'Sat, 21 Nov 2026 10:00:00 GMT');
  assert.equal(fields.has('Valid-Until'), false);
  assert.equal(fields.get('Architectures'), 'amd64 arm64 i386');
  assert.equal(fields.get('Components'), 'contrib main');
  assert.equal(fields.get('Acquire-By-Hash'), 'yes');
  const indexFiles = files.filter((f) => /\/binary-[^/]+\/Packages(\.gz|\.xz)?$/.test(f.path));
  for (const [field, algo] of [['MD5Sum', 'md5'], ['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA512', 'sha512']]) {
    const list = lists.get(field);
    assert.ok(list, `${field} list`);
    assert.equal(list.length, indexFiles.length);
    for (const f of indexFiles) {
      const rel = f.path.slice('dists/stable/'.length);
      const row: [string, number, string] | undefined = list.find((l) => l[2] === rel);
      assert.ok(row, `${field} lists ${rel}`);
      assert.equal(row[0], crypto.createHash(algo).update(f.data).digest('hex'), `${field} ${rel}`);
      assert.equal(row[1], f.data.length, `size ${rel}`);
    }
  }
});

test('by-hash copies exist for SHA256 and SHA512 and are historic', () => {
  for (const f of files.filter((x) => /\/Packages(\.gz|\.xz)?$/.test(x.path))) {
    const dir = path.posix.dirname(f.path);
    for (const [name, algo] of [['SHA256', 'sha256'], ['SHA512', 'sha512']]) {
      const h = file(`${dir}/by-hash/${name}/${crypto.createHash(algo).update(f.data).digest('hex')}`);
      assert.ok(h.data.equals(f.data));
      assert.equal(h.historic, true);
    }
  }
  assert.ok(files.filter((f) => !f.path.includes('/by-hash/')).every((f) => !f.historic));
});

/** Package/Version/Architecture of each stanza, in file order. */
function stanzas(p: string): string[] {
  return text(p)
    .split('\n\n')
    .filter((s) => s.trim())
    .map((s) => ['Package', 'Version', 'Architecture'].map((k) => new RegExp(`^${k}: (.*)$`, 'm').exec(s)![1]).join(' '));
}

test('Architecture: all packages are in every binary-<arch> index of their component', () => {
  assert.deepEqual(stanzas('dists/stable/main/binary-amd64/Packages'), ['common 1.0 all', 'hello 1.0-1 amd64', 'hello 2.0~rc1-1 amd64', 'hello 1:0.5-1 amd64']);
  assert.deepEqual(stanzas('dists/stable/main/binary-arm64/Packages'), ['common 1.0 all']);
  assert.deepEqual(stanzas('dists/stable/main/binary-i386/Packages'), ['common 1.0 all', 'legacy 1.0 i386']);
  assert.deepEqual(stanzas('dists/stable/contrib/binary-arm64/Packages'), ['tool 1.0 arm64']);
  assert.deepEqual(stanzas('dists/stable/contrib/binary-amd64/Packages'), []);
  assert.equal(file('dists/stable/contrib/binary-amd64/Packages').data.length, 0);
});

test('Packages stanzas are the stored entries, separated by one blank line', () => {
  const amd64 = text('dists/stable/main/binary-amd64/Packages');
  assert.ok(!amd64.includes('\n\n\n'));
  assert.ok(amd64.endsWith('\n\n'));
  for (const row of repo.rows.filter((r) => r.partition === 'stable/main' && (r.arch === 'amd64' || r.arch === 'all'))) {
    assert.ok(amd64.includes(row.entry), `${row.name} ${row.version}`);
  }
});

test('InRelease verifies with gpgv and carries exactly Release; Release.gpg verifies with gpgv and sqv', () => {
  const dir = tmpDir();
  const write = (name: string, data: Buffer | string) => {
    fs.writeFileSync(path.join(dir, name), data);
    return path.join(dir, name);
  };
  const bin = write('key.gpg', key.binary);
  const asc = write('key.asc', key.armored);
  const inRelease = write('InRelease', file('dists/stable/InRelease').data);
  const release = write('Release', file('dists/stable/Release').data);
  const sig = write('Release.gpg', file('dists/stable/Release.gpg').data);
  assert.match(fs.readFileSync(sig, 'utf8'), /^-----BEGIN PGP SIGNATURE-----/);
  const releaseText = text('dists/stable/Release');
  // gpgv writes the signed text in canonical form (CRLF line ends).
  const signed = execFileSync('gpgv', ['--keyring', bin, '--output', '-', inRelease], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  assert.equal(signed.replace(/\r\n/g, '\n').trimEnd(), releaseText.trimEnd(), 'gpgv: InRelease signs the Release text');
  // What apt itself reads from InRelease: the text between the armor header and the signature.
  const m = /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: [A-Z0-9]+\n\n([\s\S]*)\n-----BEGIN PGP SIGNATURE-----\n/.exec(text('dists/stable/InRelease'));
  assert.ok(m, 'InRelease is a cleartext-signed message');
  assert.ok(!text('dists/stable/InRelease').includes('\r'), 'InRelease uses LF line ends');
  assert.equal(m[1].replace(/^- /gm, '') + '\n', releaseText);
  execFileSync('gpgv', ['--keyring', bin, sig, release], { stdio: 'pipe' });
  execFileSync('sqv', ['--keyring', asc, sig, release], { stdio: 'pipe' });
  execFileSync('sqv', ['--keyring', bin, sig, release], { stdio: 'pipe' });
  // A tampered Release must fail.
  const bad = write('Release.bad', Buffer.concat([file('dists/stable/Release').data, Buffer.from('X: y\n')]));
  assert.throws(() => execFileSync('sqv', ['--keyring', asc, sig, bad], { stdio: 'pipe' }));
  assert.throws(() => execFileSync('gpgv', ['--keyring', bin, sig, bad], { stdio: 'pipe' }));
});

test('repository settings: arches, origin, label, validDays', async () => {
  const settings = { arches: ['riscv64'], origin: 'Acme Corp', label: 'Acme tools', validDays: 7 };
  const out = await aptProvider.buildIndex(repo.context('dists/bookworm', key.signer, { ...repoInfo, settings }, now));
  const release = out.find((f) => f.path === 'dists/bookworm/Release')!.data.toString();
  const { fields } = parseRelease(release);
  assert.equal(fields.get('Origin'), 'Acme Corp');
  assert.equal(fields.get('Label'), 'Acme tools');
  assert.equal(fields.get('Valid-Until'), 'Sat, 28 Nov 2026 10:00:00 GMT');
  assert.equal(fields.get('Architectures'), 'amd64 riscv64');
  assert.equal(fields.get('Components'), 'main');
});

test('an emptied distribution still publishes a valid, empty index', async () => {
  const out = await aptProvider.buildIndex(repo.context('dists/gone', key.signer, repoInfo, now));
  const { fields } = parseRelease(out.find((f) => f.path === 'dists/gone/Release')!.data.toString());
  assert.equal(fields.get('Components'), 'main');
  assert.equal(fields.get('Architectures'), DEFAULT_ARCHES.join(' '));
  assert.equal(out.find((f) => f.path === 'dists/gone/main/binary-amd64/Packages')!.data.length, 0);
});

test('the same input gives the same index files (apart from signatures)', async () => {
  const again = await aptProvider.buildIndex(repo.context('dists/stable', key.signer, repoInfo, now));
  for (const f of again.filter((x) => !/InRelease|Release.gpg/.test(x.path))) {
    assert.ok(f.data.equals(file(f.path).data), f.path);
  }
});
