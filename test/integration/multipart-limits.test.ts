/**
 * The multipart receiver (src/http/multipart.ts) through POST /addpkg with hand-made bodies:
 * each limit and each malformed body is a 4xx JSON error that says what is wrong, and no
 * temp file stays behind. Also: a file whose content holds delimiter-like bytes and a UTF-8
 * file name sent as RFC 5987 filename* arrive intact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { auth } from '../helpers/http';
import { eventually } from '../helpers/eventually';
import { startServer, type TestServer } from '../helpers/server';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.stop();
});

const B = 'limits-boundary';
const fieldPart = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const filePart = (disposition: string, data: Buffer) =>
  Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`), data, Buffer.from('\r\n')]);
const end = `--${B}--\r\n`;

async function post(body: Buffer | string, query = 'provider=tar&reponame=limits&name=lim&version=1'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${s.url}/addpkg?${query}`, { method: 'POST', headers: { ...auth(), 'Content-Type': `multipart/form-data; boundary=${B}` }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const tmpFiles = () => {
  const dir = path.join(s.dataDir, 'tmp');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

test('limits and malformed bodies: 4xx JSON saying what is wrong, no temp file left', async () => {
  const pkg = filePart('name="f"; filename="lim-1.tar"', Buffer.from('data'));
  const cases: [string, Buffer | string, number, RegExp][] = [
    ['201 fields', Buffer.concat([...Array.from({ length: 201 }, (_, i) => Buffer.from(fieldPart(`k${i}`, 'v'))), pkg, Buffer.from(end)]), 400, /too many form fields; at most 200/],
    ['a field over 1 MiB', Buffer.concat([Buffer.from(fieldPart('description', 'd'.repeat((1 << 20) + 1))), pkg, Buffer.from(end)]), 413, /form field "description" is larger than 1048576 bytes/],
    ['a part header over 16 KiB', `--${B}\r\nContent-Disposition: form-data; name="f"; filename="x"\r\nX-Junk: ${'j'.repeat(17000)}\r\n\r\nx\r\n${end}`, 400, /headers are larger than 16384 bytes/],
    ['no closing boundary', Buffer.concat([pkg, Buffer.from('more file bytes')]), 400, /ended before its closing boundary/],
    ['no Content-Disposition', `--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n${end}`, 400, /no Content-Disposition/],
    ['garbage after a boundary', `--${B}garbage\r\n\r\n${end}`, 400, /other than CRLF/],
    ['a file in an unknown field', Buffer.concat([filePart('name="other"; filename="x"', Buffer.from('x')), Buffer.from(end)]), 400, /unexpected file field "other"/],
    ['too many files', Buffer.concat([pkg, filePart('name="sig"; filename="a.sig"', Buffer.from('s')), filePart('name="sig"; filename="b.sig"', Buffer.from('s')), filePart('name="sig"; filename="c.sig"', Buffer.from('s')), Buffer.from(end)]), 400, /too many files|more than once/],
    ['no file', `${fieldPart('a', 'b')}${end}`, 400, /no file in field "f"/],
  ];
  for (const [what, body, status, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(typeof r.body.code, 'string', what);
    assert.match(String(r.body.error), message, what);
  }
  const missing = await fetch(`${s.url}/addpkg?provider=tar&reponame=limits&name=lim&version=1`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data' }, body: 'x' });
  assert.equal(missing.status, 400);
  assert.match(((await missing.json()) as { error: string }).error, /without a boundary/);
  assert.deepEqual(await eventually(tmpFiles, { accept: (left) => left.length === 0 }), [], 'no temp file left');
});

test('delimiter-like bytes in the file and a UTF-8 filename* arrive intact', async () => {
  const data = Buffer.concat([crypto.randomBytes(300_000), Buffer.from(`\r\n--${B.slice(0, -1)}\r\n-${B}\r\n--\r`), crypto.randomBytes(1000)]);
  const body = Buffer.concat([Buffer.from(fieldPart('wait', '1')), filePart(`name="f"; filename="fallback.tar"; filename*=UTF-8''%C3%BCml-1.tar`, data), Buffer.from(end)]);
  // Near misses only: RFC 2046 forbids the delimiter itself inside a part.
  const r = await post(body, 'provider=tar&reponame=limits&name=uml&version=1');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.filename, 'üml-1.tar');
  const got = Buffer.from(await (await fetch(String(r.body.url), { headers: auth() })).arrayBuffer());
  assert.equal(got.length, data.length);
  assert.ok(got.equals(data), 'the stored bytes are the ones sent');
});
