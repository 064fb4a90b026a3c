/**
 * The published files as real apt-get sees them, through a file: URI (no HTTP server):
 * isolated Dir::* state, date checks forced on, the key as signed-by, no trusted=yes.
 * The lead's integration tests repeat this over HTTP against the running server.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { aptProvider } from '../../../providers/apt';
import { sourcesFile } from '../../../providers/apt/setup';
import type { RepoInfo } from '../../../src/core/provider';
import { makeSigner, tmpDir, type TestKey } from './helpers';
import { fixtureRepo, writeRepo, type FixtureRepo } from './fixture-repo';

const repoInfo: RepoInfo = { id: 3, provider: 'apt', name: 'acme', settings: { validDays: 3 } };
let key: TestKey;
let repo: FixtureRepo;
let root: string;

before(async () => {
  key = await makeSigner();
  repo = await fixtureRepo([
    { control: { Package: 'hello', Version: '1.0-1', Architecture: 'amd64' } },
    { control: { Package: 'hello', Version: '1:0.5-1', Architecture: 'amd64' } },
    { control: { Package: 'hello', Version: '2.0~rc1-1', Architecture: 'amd64' } },
    { control: { Package: 'tilde', Version: '2.0~rc1', Architecture: 'all' } },
    { control: { Package: 'tilde', Version: '2.0~beta1', Architecture: 'all' } },
    { control: { Package: 'common', Version: '1.0', Architecture: 'all' } },
    { control: { Package: 'tool', Version: '1.0', Architecture: 'arm64' }, component: 'contrib' },
    { control: { Package: 'other', Version: '3.0', Architecture: 'amd64' }, dist: 'bookworm' },
  ]);
  root = path.join(repo.dir, 'www');
  for (const dist of ['stable', 'bookworm']) {
    const files = await aptProvider.buildIndex(repo.context(`dists/${dist}`, key.signer, repoInfo));
    writeRepo(root, files, repo);
  }
});

/** An isolated apt configuration for one client architecture. */
function aptClient(arch: string) {
  const t = tmpDir('apt-client-');
  for (const d of ['etc/sources.list.d', 'etc/preferences.d', 'state/lists/partial', 'cache/archives/partial', 'dl']) fs.mkdirSync(path.join(t, d), { recursive: true });
  fs.writeFileSync(path.join(t, 'key.gpg'), key.binary);
  // The deb822 .sources our setup snippet generates, pointing at the file: URI and our keyring.
  const sources = sourcesFile('acme', `file:${root}`, 'stable', ['main', 'contrib']).replace(/^Signed-By: .*$/m, `Signed-By: ${t}/key.gpg`);
  fs.writeFileSync(path.join(t, 'etc/sources.list.d/acme.sources'), sources);
  fs.writeFileSync(path.join(t, 'etc/sources.list'), `deb [signed-by=${t}/key.gpg] file:${root} bookworm main\n`);
  execFileSync('chmod', ['-R', 'a+rX', t, repo.dir]); // apt's _apt user reads keyring and files
  const opts = [
    `-o`, `Dir::Etc::SourceList=${t}/etc/sources.list`, `-o`, `Dir::Etc::SourceParts=${t}/etc/sources.list.d`,
    `-o`, `Dir::Etc::PreferencesParts=${t}/etc/preferences.d`, `-o`, `Dir::State=${t}/state`,
    `-o`, `Dir::State::status=/var/lib/dpkg/status`, `-o`, `Dir::Cache=${t}/cache`, `-o`, `APT::Architecture=${arch}`,
    `-o`, `APT::Architectures=${arch}`, `-o`, `Debug::NoLocking=1`, `-o`, `Acquire::Check-Date=true`,
    `-o`, `Acquire::Check-Valid-Until=true`, `-o`, `Acquire::Languages=none`,
  ];
  const run = (cmd: string, args: string[], cwd = t) => {
    const r = spawnSync(cmd, [...opts, ...args], { cwd, encoding: 'utf8' });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  return { dir: t, run };
}

function candidate(out: string): string {
  return /Candidate: (\S+)/.exec(out)?.[1] ?? `(none in: ${out})`;
}

test('apt-get update accepts the signed repository with no warning or error (amd64)', () => {
  const c = aptClient('amd64');
  const u = c.run('apt-get', ['update']);
  assert.equal(u.code, 0, u.out);
  assert.doesNotMatch(u.out, /^(W|E):/m, u.out);
  assert.match(u.out, /stable InRelease/);
  if (process.env.APT_TEST_VERBOSE) console.log(u.out);
  // Newest by Debian order: the epoch wins, and 2.0~rc1 is newer than 2.0~beta1.
  assert.equal(candidate(c.run('apt-cache', ['policy', 'hello']).out), '1:0.5-1');
  assert.equal(candidate(c.run('apt-cache', ['policy', 'tilde']).out), '2.0~rc1');
  assert.equal(candidate(c.run('apt-cache', ['policy', 'common']).out), '1.0');
  // The second distribution, from the one-line sources.list entry.
  assert.equal(candidate(c.run('apt-cache', ['policy', 'other']).out), '3.0');
  // arm64-only package is not offered to amd64.
  assert.match(c.run('apt-cache', ['policy', 'tool']).out, /Candidate: \(none\)|Unable to locate|^$/m);
  // Download checks size and hashes from Packages.
  const d = c.run('apt-get', ['download', 'hello', 'common'], path.join(c.dir, 'dl'));
  assert.equal(d.code, 0, d.out);
  const got = fs.readdirSync(path.join(c.dir, 'dl')).sort();
  assert.deepEqual(got, ['common_1.0_all.deb', 'hello_1%3a0.5-1_amd64.deb']);
});

test('Architecture: all and arm64 packages for an arm64 client, both components', () => {
  const c = aptClient('arm64');
  const u = c.run('apt-get', ['update']);
  assert.equal(u.code, 0, u.out);
  assert.doesNotMatch(u.out, /^(W|E):/m, u.out);
  assert.equal(candidate(c.run('apt-cache', ['policy', 'common']).out), '1.0');
  assert.equal(candidate(c.run('apt-cache', ['policy', 'tool']).out), '1.0');
  const d = c.run('apt-get', ['download', 'common', 'tool'], path.join(c.dir, 'dl'));
  assert.equal(d.code, 0, d.out);
});

test('apt-get update fails on a tampered Packages file (hashes in Release are checked)', () => {
  const c = aptClient('amd64');
  const dir = path.join(root, 'dists/stable/main/binary-amd64');
  const backup = path.join(repo.dir, 'binary-amd64.bak');
  fs.cpSync(dir, backup, { recursive: true });
  try {
    // Corrupt every copy apt could fetch for main/binary-amd64, by-hash ones included.
    for (const f of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (f.isFile()) fs.writeFileSync(path.join(f.parentPath ?? f.path, f.name), 'Package: garbage\n');
    }
    const u = c.run('apt-get', ['update']);
    assert.notEqual(u.code, 0, u.out);
    assert.match(u.out, /Hash Sum mismatch|File has unexpected size/, u.out);
  } finally {
    fs.rmSync(dir, { recursive: true });
    fs.cpSync(backup, dir, { recursive: true });
  }
});

test('apt-get update refuses the repository when signed-by names another key', async () => {
  const c = aptClient('amd64');
  const other = await makeSigner();
  fs.writeFileSync(path.join(c.dir, 'key.gpg'), other.binary);
  const u = c.run('apt-get', ['update']);
  assert.notEqual(u.code, 0, u.out);
  assert.match(u.out, /NO_PUBKEY|not signed|signatures couldn't be verified/, u.out);
});
