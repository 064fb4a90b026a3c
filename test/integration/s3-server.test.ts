/** Issue 7: the server on an S3 bucket (s3rver): uploads stream to S3, downloads stream back or redirect to presigned URLs. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer } from '../helpers/server';
import { startS3rver } from '../helpers/s3';
import { upload } from '../helpers/http';
import { checkAptDist } from '../helpers/apt-check';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';

const s3p = startS3rver();
after(async () => (await s3p).stop());

test('uploads land in the bucket and download byte-identical, with ranges', async () => {
  const s3 = await s3p;
  const srv = await startServer({ s3: { url: s3.url('direct-bucket') } });
  try {
    const data = crypto.randomBytes(9 * 1024 * 1024 + 7); // more than one multipart part
    const r = await upload(srv.url, { name: 'big.bin', data }, { provider: 'tar', reponame: 's3t', name: 'big', version: '1' });
    assert.equal(r.status, 201);
    const dl = await fetch(r.body.url as string);
    assert.equal(dl.status, 200);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(data));
    const part = await fetch(r.body.url as string, { headers: { Range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1000, 2000)));
    const deb = buildDeb(tmpDir('s3deb-'), controlText({ Package: 's3pkg', Version: '1.0', Architecture: 'all', Maintainer: 'S <s@example.com>', Description: 'x' }), 'gzip');
    assert.equal((await upload(srv.url, deb, { reponame: 's3apt' })).status, 201);
    const { packages } = await checkAptDist(`${srv.url}/repo/apt/s3apt`, 'stable', { canonical: true });
    assert.deepEqual(packages, ['s3pkg 1.0 all']);
  } finally {
    await srv.stop();
  }
});

test('S3_REDIRECT=presigned answers package downloads with a 302 to a working presigned URL', async () => {
  const s3 = await s3p;
  const srv = await startServer({ s3: { url: s3.url('presign-bucket') }, env: { S3_REDIRECT: 'presigned' } });
  try {
    const data = crypto.randomBytes(5000);
    const r = await upload(srv.url, { name: 'p.bin', data }, { provider: 'tar', reponame: 's3p', name: 'p', version: '1' });
    const res = await fetch(r.body.url as string, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const loc = res.headers.get('location')!;
    assert.match(loc, /X-Amz-Signature=/);
    assert.match(loc, /X-Amz-Expires=300/);
    const followed = await fetch(loc);
    assert.equal(followed.status, 200);
    assert.ok(Buffer.from(await followed.arrayBuffer()).equals(data));
    // Index files are never redirected: they must be the exact published bytes from the current generation.
    const deb = buildDeb(tmpDir('s3deb-'), controlText({ Package: 'pre', Version: '1.0', Architecture: 'amd64', Maintainer: 'S <s@example.com>', Description: 'x' }), 'gzip');
    assert.equal((await upload(srv.url, deb, { reponame: 's3papt' })).status, 201);
    const rel = await fetch(`${srv.url}/repo/apt/s3papt/dists/stable/InRelease`, { redirect: 'manual' });
    assert.equal(rel.status, 200);
  } finally {
    await srv.stop();
  }
});
