import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Busboy from 'busboy';
import { BadRequestError } from '../../../src/core/errors';
import { pypiProvider } from '../../../providers/pypi/index';
import { checkTwineAgainstPackage, checkTwineFields, type TwineFields } from '../../../providers/pypi/twine-routes';
import { makeSdist, makeWheel, metadataText, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();

test('checkTwineFields: shape of the legacy upload form', () => {
  const ok: TwineFields = { ':action': 'file_upload', protocol_version: '1', sha256_digest: 'AB'.repeat(32), name: 'demo', version: '1.0', filetype: 'bdist_wheel', pyversion: 'py3' };
  assert.deepEqual(checkTwineFields(ok, 'demo-1.0-py3-none-any.whl'), { sha256Digest: 'ab'.repeat(32), name: 'demo', version: '1.0', filetype: 'bdist_wheel', pyversion: 'py3' });
  assert.deepEqual(checkTwineFields({ ':action': 'file_upload' }, 'demo-1.0.tar.gz'), {}, 'protocol_version, digests and md5 are optional');
  const bad: [TwineFields, string | undefined, RegExp][] = [
    [{}, 'x.whl', /missing ":action"/],
    [{ ':action': 'submit' }, 'x.whl', /"submit" is not supported/],
    [{ ':action': 'file_upload', protocol_version: '2' }, 'x.whl', /unknown protocol_version "2"/],
    [{ ':action': 'file_upload' }, undefined, /missing "content" file part/],
    [{ ':action': 'file_upload' }, '', /has no file name/],
    [{ ':action': 'file_upload', sha256_digest: 'abc' }, 'x.whl', /sha256_digest must be 64 hexadecimal digits/],
    [{ ':action': 'file_upload', filetype: 'bdist_egg' }, 'x.egg', /filetype "bdist_egg" is not supported/],
    [{ ':action': 'file_upload', filetype: 'sdist' }, 'x-1.0-py3-none-any.whl', /does not match filetype "sdist"/],
  ];
  for (const [f, name, re] of bad) assert.throws(() => checkTwineFields(f, name), (e: unknown) => e instanceof BadRequestError && re.test(e.message));
  checkTwineAgainstPackage({ name: 'Demo_Pkg', version: '1.0.0' }, { name: 'demo.pkg', version: '1.0' });
  assert.throws(() => checkTwineAgainstPackage({ name: 'other' }, { name: 'demo', version: '1' }), /form field name "other" differs/);
  assert.throws(() => checkTwineAgainstPackage({ version: '2' }, { name: 'demo', version: '1' }), /form field version "2" differs/);
});

/** A throwaway server on port 0 that does what the core's twine route will: busboy, checks, parse. */
function twineServer(seen: { fields: TwineFields; filename?: string; status: number; body: string }[]) {
  return http.createServer((req, res) => {
    const fields: TwineFields = {};
    let filename: string | undefined;
    const tmp = path.join(dir, `upload-${seen.length}`);
    const bb = Busboy({ headers: req.headers });
    let written: Promise<void> = Promise.resolve();
    bb.on('field', (k, v) => {
      const cur = fields[k];
      fields[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
    });
    bb.on('file', (k, stream, info) => {
      if (k !== 'content') return void stream.resume();
      filename = info.filename;
      written = new Promise((resolve) => stream.pipe(fs.createWriteStream(tmp)).on('finish', () => resolve()));
    });
    bb.on('close', async () => {
      const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      let status = 200;
      let body = 'OK';
      try {
        assert.equal(auth, '__token__:secret-token');
        await written;
        const form = checkTwineFields(fields, filename);
        const pkg = await parseRendered(pypiProvider, uploadInput(tmp, filename, form.sha256Digest ? { sha256_digest: form.sha256Digest } : {}));
        checkTwineAgainstPackage(form, pkg);
      } catch (e) {
        status = 400;
        body = (e as Error).message;
      }
      seen.push({ fields, filename, status, body });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
    req.pipe(bb);
  });
}

function twine(url: string, files: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('twine', ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', url, '-u', '__token__', '-p', 'secret-token', ...files],
      { env: { ...process.env, TWINE_CERT: '', HOME: dir } }, (err, stdout, stderr) => resolve({ code: err ? (err.code as number) ?? 1 : 0, out: stdout + stderr }));
  });
}

test('real twine uploads pass the checks (wheel and sdist)', async () => {
  const seen: Parameters<typeof twineServer>[0] = [];
  const server = twineServer(seen).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo/pypi/test/legacy/`;
    const whl = makeWheel(dir, 'demo_pkg-1.0-py3-none-any.whl', metadataText('Demo.Pkg', '1.0', 'Summary: s\n'));
    const sdist = makeSdist(dir, 'demo_pkg-1.0.tar.gz', metadataText('Demo.Pkg', '1.0', 'Summary: s\n'));
    const r = await twine(url, [whl, sdist]);
    assert.equal(r.code, 0, r.out);
    assert.equal(seen.length, 2);
    for (const s of seen) assert.equal(s.status, 200, s.body);
    assert.deepEqual(seen.map((s) => [s.filename, s.fields[':action'], s.fields.filetype]), [
      ['demo_pkg-1.0-py3-none-any.whl', 'file_upload', 'bdist_wheel'],
      ['demo_pkg-1.0.tar.gz', 'file_upload', 'sdist'],
    ]);
    assert.equal(seen[0]!.fields.name, 'Demo.Pkg');
    assert.match(String(seen[0]!.fields.sha256_digest), /^[0-9a-f]{64}$/);
  } finally {
    server.close();
  }
});
