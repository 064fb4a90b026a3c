/**
 * Issue 19, bulk import: `rpcli upload <directory>` sends the files in batches
 * (POST /addpkg/batch, wait=0) and then waits once for the publish; a bad file is reported on
 * its own and the others are imported; exit code non-zero. Checked with what clients see:
 * the apt dist with the independent checker (gpgv over InRelease, every Packages stanza's file
 * downloaded and hashed), the pacman db with a real pacman -Sy / -Sl in a temporary root.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { auth, getJson } from '../helpers/http';
import { checkAptDist } from '../helpers/apt-check';
import { synthPackage } from '../helpers/synth-pacman';
import { synthDeb } from './apt-tools';
import { oneErrorLine, rpcli, rpcliOnPty } from './cli-run';
import { fingerprintOf, pacmanClient, pacmanSkip } from './pacman-tools';

let srv: TestServer;
let dir: string;
let env: Record<string, string>;

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-import-'));
  fs.chmodSync(dir, 0o755);
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const control = (name: string, version: string, arch: string) => `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Test <test@example.org>\nDescription: bulk ${name}\n`;

function debDir(sub: string, count: number): { root: string; expected: string[] } {
  const root = path.join(dir, sub);
  fs.mkdirSync(path.join(root, 'pool/b'), { recursive: true });
  const expected: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bulk${String(i).padStart(3, '0')}`;
    const arch = i % 10 === 0 ? 'all' : 'amd64';
    // Some in a subdirectory: a directory argument stands for every file below it.
    fs.writeFileSync(path.join(root, i % 2 ? 'pool/b' : '', `${name}_1.0-1_${arch}.deb`), synthDeb(control(name, '1.0-1', arch), `${name}\n`));
    expected.push(`${name} 1.0-1 ${arch}`);
  }
  return { root, expected };
}

describe('apt', () => {
  test('a directory of 200 .debs: every one is in the signed dist when rpcli returns', { timeout: 180_000 }, async () => {
    const { root, expected } = debDir('debs', 200);
    const r = await rpcli(['upload', '-y', 'apt', '-r', 'bulk', '-a', 'dist=bookworm', '--parallel', '3', root], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'published: 200 of 200 files into apt/bulk');
    // No terminal: no line per file.
    assert.equal(r.stderr, '');
    const { packages } = await checkAptDist(`${srv.url}/repo/apt/bulk`, 'bookworm');
    assert.deepEqual(packages, expected.sort());
    const status = await getJson(`${srv.url}/api/repos/apt/bulk/status`, auth());
    for (const s of status.body.scopes) assert.equal(s.publishedSeq, s.requestedSeq);
  });

  test('one corrupt file among them: reported with its path, the others imported, exit 1', { timeout: 180_000 }, async () => {
    const { root, expected } = debDir('debs-bad', 40);
    const bad = path.join(root, 'pool/b/broken_1.0_amd64.deb');
    fs.writeFileSync(bad, synthDeb(control('broken', '1.0', 'amd64')).subarray(0, 150));
    const r = await rpcli(['upload', '-y', 'apt', '-r', 'bulkbad', '-a', 'dist=bookworm', root], { env });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(lines[0]!.startsWith(`${bad}: `), lines[0]);
    assert.match(lines[1]!, /^rpcli: error: 1 of 41 files were refused/);
    assert.equal(r.stdout.trim(), 'published: 40 of 41 files into apt/bulkbad; 1 refused');
    const { packages } = await checkAptDist(`${srv.url}/repo/apt/bulkbad`, 'bookworm');
    assert.deepEqual(packages, expected.sort());
  });

  test('on a terminal a line per file; --parallel is checked', { timeout: 120_000 }, async () => {
    const { root } = debDir('debs-tty', 3);
    const r = await rpcliOnPty(['upload', '-y', 'apt', '-r', 'bulktty', '-a', 'dist=bookworm', root], { env });
    assert.equal(r.code, 0, r.stdout);
    const lines = r.stdout.split(/\r?\n/).filter((l) => /^\[\d\/3\] /.test(l));
    assert.deepEqual(lines.map((l) => l.slice(0, 5)).sort(), ['[1/3]', '[2/3]', '[3/3]']);
    assert.ok(lines.every((l) => / apt\/bulktty bulk00\d 1\.0-1 \((amd64|all)\)$/.test(l)), lines.join('\n'));
    assert.match(r.stdout, /published: 3 of 3 files into apt\/bulktty/);
    const bad = await rpcli(['upload', '-y', 'apt', '-r', 'bulktty', '--parallel', '0', root], { env });
    assert.equal(bad.code, 2);
    assert.match(oneErrorLine(bad), /--parallel must be a whole number from 1 to 64/);
  });

  test('the batch endpoint: each file its own status; a duplicate and a bad file do not lose the others', async () => {
    const form = new FormData();
    const part = (name: string, data: Buffer) => form.append('f', new Blob([data]), name);
    part('one_1.0_amd64.deb', synthDeb(control('one', '1.0', 'amd64')));
    part('junk.deb', Buffer.from('not a deb at all'));
    part('two_1.0_amd64.deb', synthDeb(control('two', '1.0', 'amd64')));
    part('one-again_1.0_amd64.deb', synthDeb(control('one', '1.0', 'amd64')));
    const res = await fetch(`${srv.url}/addpkg/batch?provider=apt&reponame=batchapi&dist=stable`, { method: 'POST', body: form, headers: auth() });
    assert.equal(res.status, 207);
    const body = (await res.json()) as { stored: number; failed: number; published: boolean; results: { file: string; status: number; name?: string; error?: string; code?: string }[] };
    assert.equal(body.stored, 2);
    assert.equal(body.failed, 2);
    assert.equal(body.published, true);
    assert.deepEqual(body.results.map((x) => [x.file, x.status]), [['one_1.0_amd64.deb', 201], ['junk.deb', 400], ['two_1.0_amd64.deb', 201], ['one-again_1.0_amd64.deb', 409]]);
    assert.match(body.results[1]!.error!, /not an ar archive/);
    assert.match(body.results[3]!.error!, /already exists in apt\/batchapi/);
    // wait (the default): both are in the served index when the answer comes.
    const { packages } = await checkAptDist(`${srv.url}/repo/apt/batchapi`, 'stable');
    assert.deepEqual(packages, ['one 1.0 amd64', 'two 1.0 amd64']);
  });

  test('a batch without a token is refused before its body is read, nothing stored', async () => {
    const form = new FormData();
    form.append('f', new Blob([synthDeb(control('nope', '1.0', 'amd64'))]), 'nope_1.0_amd64.deb');
    const res = await fetch(`${srv.url}/addpkg/batch?provider=apt&reponame=noauth`, { method: 'POST', body: form });
    assert.equal(res.status, 401);
    assert.equal((await getJson(`${srv.url}/api/repos/apt/noauth`, auth())).status, 404);
  });
});

describe('pacman', () => {
  test('a directory of 60 packages and one corrupt file: pacman -Sl lists the 60, exit 1', { skip: pacmanSkip, timeout: 240_000 }, async () => {
    const root = path.join(dir, 'pkgs');
    fs.mkdirSync(root);
    const names: string[] = [];
    for (let i = 0; i < 60; i++) {
      const name = `bulkpkg-${String(i).padStart(2, '0')}`;
      await synthPackage(root, name, i);
      names.push(name);
    }
    const bad = path.join(root, 'zz-broken-1.0-1-x86_64.pkg.tar.gz');
    fs.writeFileSync(bad, Buffer.from('this is not a package'));
    const r = await rpcli(['upload', '-y', 'pacman', '-r', 'bulkarch', root], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'));
    assert.equal(r.stdout.trim(), 'published: 60 of 61 files into pacman/bulkarch; 1 refused');

    const key = await (await fetch(`${srv.url}/repo/pacman/bulkarch/pubkey`)).text();
    const c = pacmanClient(dir, 'bulk', 'x86_64', [{ name: 'bulkarch', server: `${srv.url}/repo/pacman/bulkarch/$arch` }]);
    try {
      await c.trust(key, fingerprintOf(key, dir));
      await c.pacman('-Sy');
      const listed = (await c.pacman('-Sl', 'bulkarch')).split('\n').filter(Boolean).map((l) => l.split(' ')[1]);
      assert.deepEqual(listed.sort(), names);
    } finally {
      c.close();
    }
  });
});
