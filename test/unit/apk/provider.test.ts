/**
 * The Provider object's small contracts: detect() (against an Arch package made by the real
 * bsdtar), uploadParams, fallbackPaths, setup, and the key routes on a real Express app.
 */
import { providerRoutes, testRouteContext } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import { apkProvider } from '../../../providers/apk';
import type { DomainError } from '../../../src/core/errors';
import { buildApk, pkginfoFor } from './apk-builder';
import { repo, rsaKey, signerOf, tempDir, uploadOf } from './helpers';

const dir = tempDir();
const key1 = rsaKey('alpine-test-00000001.rsa.pub');
const key2 = rsaKey('alpine-test-00000002.rsa.pub');

const detect = (name: string, bytes: Buffer) => apkProvider.detect!(uploadOf(dir, name, bytes).file);

test('detect: apk v2 yes; Arch .pkg.tar.gz (bsdtar), single-stream apk, plain gzip, xz no', async () => {
  assert.equal(await detect('a.apk', buildApk({ pkginfo: pkginfoFor('a', '1-r0', 'x86_64') }).bytes), true);
  assert.equal(await detect('s.apk', buildApk({ pkginfo: pkginfoFor('a', '1-r0', 'x86_64'), sign: { keyName: key1.keyName, privateKey: key1.privateKey } }).bytes), true);
  assert.equal(await detect('one.apk', buildApk({ pkginfo: pkginfoFor('a', '1-r0', 'x86_64'), singleMember: true }).bytes), false);
  // an Arch package made by the real bsdtar: .PKGINFO first, one gzip member
  const root = path.join(dir, 'arch');
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(root, '.PKGINFO'), 'pkgname = foo\npkgver = 1.0-1\narch = x86_64\n');
  fs.writeFileSync(path.join(root, 'usr/bin/foo'), 'x'.repeat(10000));
  const out = path.join(dir, 'foo-1.0-1-x86_64.pkg.tar.gz');
  const r = spawnSync('bsdtar', ['-czf', out, '-C', root, '.PKGINFO', 'usr']);
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(await detect('foo.pkg.tar.gz', fs.readFileSync(out)), false);
  assert.equal(await detect('t.gz', zlib.gzipSync('hello'.repeat(100))), false);
  assert.equal(await detect('x.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])), false);
  assert.equal(await detect('empty', Buffer.alloc(0)), false);
});

test('uploadParams: branch defaults to main, one inner slash, no traversal, unknown keys ignored', () => {
  assert.deepEqual(apkProvider.uploadParams.parse({}), { branch: 'main' });
  assert.deepEqual(apkProvider.uploadParams.parse({ branch: 'v3.20/main', reponame: 'x' }), { branch: 'v3.20/main' });
  assert.deepEqual(apkProvider.uploadParams.parse({ branch: 'edge_testing-1.x' }), { branch: 'edge_testing-1.x' });
  for (const bad of ['../x', 'a/../b', '..', '.', 'a/.', '/main', 'main/', 'a/b/c', 'a//b', 'a b', '', 'x'.repeat(65), 'mä']) {
    assert.equal(apkProvider.uploadParams.safeParse({ branch: bad }).success, false, bad);
  }
});

test('fallbackPaths: an architecture directory falls back to noarch', () => {
  const fb = apkProvider.fallbackPaths!;
  assert.deepEqual(fb('main/x86_64/docs-1.0-r0.apk'), ['main/noarch/docs-1.0-r0.apk']);
  assert.deepEqual(fb('v3.20/main/aarch64/docs-1.0-r0.apk'), ['v3.20/main/noarch/docs-1.0-r0.apk']);
  assert.deepEqual(fb('main/noarch/docs-1.0-r0.apk'), []);
  assert.deepEqual(fb('main/x86_64/APKINDEX.tar.gz'), []);
  assert.deepEqual(fb('x86_64/docs-1.0-r0.apk'), []);
});

test('compareVersions is apk order', () => {
  assert.ok(apkProvider.compareVersions('1.0_rc1-r0', '1.0-r0') < 0);
  assert.ok(apkProvider.compareVersions('1.0-r10', '1.0-r9') > 0);
});

test('setup: one wget per active key and one repositories line per branch', async () => {
  const snippets = await apkProvider.setup({
    repo: repo(),
    repoUrl: 'https://pkgs.example.org/repo/apk/alpine-test',
    baseUrl: 'https://pkgs.example.org',
    signer: signerOf([key1, key2]),
    partitions: ['main/x86_64', 'main/noarch', 'v3.20/main/aarch64'],
  });
  assert.equal(snippets.length, 1);
  assert.equal(snippets[0]!.language, 'shell');
  assert.equal(
    snippets[0]!.code,
    [
      `wget -O /etc/apk/keys/${key1.keyName} https://pkgs.example.org/repo/apk/alpine-test/keys/${key1.keyName}`,
      `wget -O /etc/apk/keys/${key2.keyName} https://pkgs.example.org/repo/apk/alpine-test/keys/${key2.keyName}`,
      'echo "https://pkgs.example.org/repo/apk/alpine-test/main" >> /etc/apk/repositories',
      'echo "https://pkgs.example.org/repo/apk/alpine-test/v3.20/main" >> /etc/apk/repositories',
      'apk update',
      '',
    ].join('\n'),
  );
});

test('routes: key listing (HTML and JSON) and PEM keys that openssl reads', async () => {
  const app = express();
  app.use(
    '/repo/apk/:repo',
    providerRoutes(apkProvider, (name) => (name === 'alpine-test' ? testRouteContext({ repo: repo(), signer: signerOf([key1, key2]), base: 'http://example.test' }) : null)),
  );
  app.use((err: DomainError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.message, code: err.code });
  });
  const server = app.listen(0);
  try {
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo/apk`;
    const json = await fetch(`${base}/alpine-test/keys/`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 200);
    // The `{path, entries}` shape of every other listing, each entry with its URL.
    assert.deepEqual(await json.json(), {
      path: '/repo/apk/alpine-test/keys/',
      entries: [key1, key2].map((k) => ({ name: k.keyName, type: 'file', size: Buffer.byteLength(k.publicKeyPem), modified: null, url: `http://example.test/repo/apk/alpine-test/keys/${k.keyName}` })),
    });
    const html = await fetch(`${base}/alpine-test/keys`, { headers: { accept: 'text/html' } });
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    const body = await html.text();
    assert.ok(body.includes(`>${key1.keyName}</a>`) && body.includes(`>${key2.keyName}</a>`));
    const pem = await fetch(`${base}/alpine-test/keys/${key2.keyName}`);
    assert.equal(pem.status, 200);
    assert.match(pem.headers.get('content-type') ?? '', /application\/x-pem-file/);
    const text = await pem.text();
    assert.equal(text, key2.publicKeyPem);
    const keyFile = path.join(dir, key2.keyName);
    fs.writeFileSync(keyFile, text);
    const o = spawnSync('openssl', ['pkey', '-pubin', '-in', keyFile, '-noout', '-text'], { encoding: 'utf8' });
    assert.equal(o.status, 0, o.stderr);
    assert.match(o.stdout, /Public-Key: \(2048 bit\)/);
    assert.equal((await fetch(`${base}/alpine-test/keys/nope.rsa.pub`)).status, 404);
    assert.equal((await fetch(`${base}/other/keys/`)).status, 404);
  } finally {
    server.close();
  }
});
