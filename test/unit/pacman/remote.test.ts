/** How a pacman remote maps request paths to its mirrorlist upstream (providers/pacman/remote.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pacmanRemote } from '../../../providers/pacman/remote';

const ctx = { upstream: 'https://mirror.example/$repo/os/$arch/', repoName: 'arch' };

test('<arch>/<db>.db and its .sig are one index of $repo=<db>, $arch=<arch>, the .sig a companion', () => {
  const db = pacmanRemote.target('x86_64/core.db', ctx);
  const sig = pacmanRemote.target('x86_64/core.db.sig', ctx);
  assert.deepEqual(db, { kind: 'index', source: 'x86_64/core.db', url: 'https://mirror.example/core/os/x86_64/core.db', companions: [{ path: 'x86_64/core.db.sig', url: 'https://mirror.example/core/os/x86_64/core.db.sig' }] });
  assert.deepEqual(sig, db);
  const files = pacmanRemote.target('aarch64/extra-testing.files.tar.gz.sig', ctx);
  assert.equal(files?.kind === 'index' && files.url, 'https://mirror.example/extra-testing/os/aarch64/extra-testing.files.tar.gz');
});

test('other files of an arch directory are packages reachable only through a db link; anything else is nothing', () => {
  assert.deepEqual(pacmanRemote.target('x86_64/foo-1-1-x86_64.pkg.tar.zst', ctx), { kind: 'package', url: null });
  assert.deepEqual(pacmanRemote.target('x86_64/foo-1-1-x86_64.pkg.tar.zst.sig', ctx), { kind: 'package', url: null });
  for (const p of ['', 'core.db', 'x86_64/', 'a/b/core.db', '../x86_64/core.db', 'x86-64/core.db']) assert.equal(pacmanRemote.target(p, ctx), null, p);
});

test('checkUpstream: $arch is required (the error says so), no query string', () => {
  assert.throws(() => pacmanRemote.checkUpstream!('https://mirror.example/core/os/x86_64'), /no \$arch/);
  assert.throws(() => pacmanRemote.checkUpstream!('https://mirror.example/$repo/os/$arch?x=1'), /query/);
  pacmanRemote.checkUpstream!('https://mirror.example/$arch/$repo');
  pacmanRemote.checkUpstream!('http://127.0.0.1:8000/myrepo/$arch');
});
