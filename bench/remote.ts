/**
 * Remote repositories (issue 14): a BENCH_MB (default 200) MB file downloaded directly from a
 * static upstream (python3 -m http.server on 127.0.0.1), then through a tar remote twice
 * (cold: fetched, streamed and stored; warm: from the store), and requests/s of a warm PyPI
 * remote project page. The server runs in this process on SQLite. Prints figures; asserts nothing.
 *   npx tsx bench/remote.ts          # BENCH_MB=200 BENCH_PAGE_REQUESTS=2000 BENCH_CONCURRENCY=16
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN } from '../test/helpers/server';
import { startStaticUpstream, writeSimpleTree } from '../test/helpers/static-upstream';
import { makeWheel, metadataText } from '../test/unit/pypi/helpers';

const MB = Number(process.env.BENCH_MB ?? 200);
const PAGE_REQUESTS = Number(process.env.BENCH_PAGE_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function download(url: string): Promise<{ seconds: number; bytes: number; sha: string }> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(c);
    bytes += c.length;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes, sha: h.digest('hex') };
}

async function put(base: string, repo: string, body: unknown): Promise<void> {
  const r = await fetch(`${base}/api/repos/${repo}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`PUT ${repo}: ${r.status} ${await r.text()}`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-'));
  const big = path.join(dir, 'big.bin');
  const fd = fs.openSync(big, 'w');
  for (let i = 0; i < MB; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
  fs.closeSync(fd);
  const wheel = makeWheel(dir, 'bench-1.0-py3-none-any.whl', metadataText('bench', '1.0'));
  writeSimpleTree(path.join(dir, 'tree'), { bench: [{ file: wheel }] });
  fs.renameSync(big, path.join(dir, 'tree', 'big.bin'));
  const upstream = await startStaticUpstream(path.join(dir, 'tree'));
  const srv = await startServer();
  try {
    await put(srv.url, 'tar/mirror', { type: 'remote', upstream: upstream.url });
    await put(srv.url, 'pypi/proxy', { type: 'remote', upstream: `${upstream.url}/simple/` });
    const mbps = (r: { seconds: number; bytes: number }) => `${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s (${r.seconds.toFixed(2)} s)`;
    const direct = await download(`${upstream.url}/big.bin`);
    const cold = await download(`${srv.url}/repo/tar/mirror/big.bin`);
    const warm = await download(`${srv.url}/repo/tar/mirror/big.bin`);
    const same = direct.sha === cold.sha && cold.sha === warm.sha;
    console.log(`${MB} MB file, direct from the upstream: ${mbps(direct)}`);
    console.log(`${MB} MB file, remote cold (fetch + stream + store): ${mbps(cold)}`);
    console.log(`${MB} MB file, remote warm (from the store):     ${mbps(warm)}${same ? '' : '  (bytes differ!)'}`);
    const page = `${srv.url}/repo/pypi/proxy/simple/bench/`;
    await (await fetch(page)).text();
    const t0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < PAGE_REQUESTS) await (await fetch(page)).arrayBuffer();
    }));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`warm PyPI remote project page: ${(PAGE_REQUESTS / s).toFixed(0)} requests/s (${PAGE_REQUESTS} requests, ${CONCURRENCY} concurrent)`);
  } finally {
    await upstream.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
