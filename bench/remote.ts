/**
 * Remote repositories (issue 14): a BENCH_MB (default 200) MB file downloaded with curl
 * directly from the static upstream (python3 -m http.server on 127.0.0.1) and from nginx
 * serving the same directory (anchors), then through a tar remote (cold: fetched, streamed
 * and stored, through a fresh remote each round; warm: from the store); then requests/s of a
 * warm PyPI remote project page next to nginx serving the upstream's page (wrk, 16
 * connections). Rounds interleave A B A B; medians and ratios. The server runs in this process
 * on SQLite (clients are separate processes). Prints figures; asserts nothing.
 *   npx tsx bench/remote.ts          # BENCH_MB=200 BENCH_ROUNDS=3 BENCH_WRK_SECONDS=3
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNginx, wrk } from './lib/anchors';
import { startServer, ADMIN_TOKEN } from '../test/helpers/server';
import { startStaticUpstream, writeSimpleTree } from '../test/helpers/static-upstream';
import { makeWheel, metadataText } from '../test/unit/pypi/helpers';

const MB = Number(process.env.BENCH_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 3);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 1 << 20 }, (e, out, err) => (e ? reject(new Error(`${cmd}: ${err || e.message}`)) : resolve(out))));
}

/** curl the URL into a file (a separate process: the server in this process is not slowed by the client); seconds and sha256. */
async function download(url: string, out: string): Promise<{ seconds: number; sha: string }> {
  const w = await run('curl', ['-sS', '-f', '-o', out, '-w', '%{time_total}', url]);
  const sha = (await run('sha256sum', [out])).split(' ')[0]!;
  fs.rmSync(out, { force: true });
  return { seconds: Number(w), sha };
}

const pageRequestsPerSecond = async (url: string) => (await wrk(url, { threads: 1, connections: 16, seconds: WRK_SECONDS })).requestsPerSecond;

async function put(base: string, repo: string, body: unknown): Promise<void> {
  const r = await fetch(`${base}/api/repos/${repo}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`PUT ${repo}: ${r.status} ${await r.text()}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-'));
  fs.chmodSync(dir, 0o755); // nginx workers run as an unprivileged user and must read the tree
  const tree = path.join(dir, 'tree');
  const wheel = makeWheel(dir, 'bench-1.0-py3-none-any.whl', metadataText('bench', '1.0'));
  writeSimpleTree(tree, { bench: [{ file: wheel }] });
  const fd = fs.openSync(path.join(tree, 'big.bin'), 'w');
  for (let i = 0; i < MB; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
  fs.closeSync(fd);
  const upstream = await startStaticUpstream(tree);
  const nginx = await startNginx(tree, dir);
  const srv = await startServer();
  const out = path.join(dir, 'out.bin');
  try {
    await put(srv.url, 'pypi/proxy', { type: 'remote', upstream: `${upstream.url}/simple/` });
    const t: Record<'direct' | 'nginx' | 'cold' | 'warm', number[]> = { direct: [], nginx: [], cold: [], warm: [] };
    const shas = new Set<string>();
    for (let i = 0; i < ROUNDS; i++) {
      await put(srv.url, `tar/mirror${i}`, { type: 'remote', upstream: upstream.url });
      for (const [k, url] of [['direct', `${upstream.url}/big.bin`], ['cold', `${srv.url}/repo/tar/mirror${i}/big.bin`], ['nginx', `${nginx.url}/big.bin`], ['warm', `${srv.url}/repo/tar/mirror${i}/big.bin`]] as const) {
        const r = await download(url, out);
        t[k].push(r.seconds);
        shas.add(r.sha);
      }
    }
    const mbps = (k: keyof typeof t) => `${(MB * 1.048576 / median(t[k])).toFixed(0).padStart(5)} MB/s (median ${median(t[k]).toFixed(2)} s of ${ROUNDS})`;
    console.log(`${MB} MiB file, curl, ${ROUNDS} interleaved rounds${shas.size === 1 ? ', same bytes every time' : ', BYTES DIFFER'}:`);
    console.log(`  direct from the upstream (python http.server): ${mbps('direct')}`);
    console.log(`  nginx, same file:                              ${mbps('nginx')}`);
    console.log(`  remote cold (fetch + stream + store):          ${mbps('cold')}  = ${(median(t.cold) / median(t.direct)).toFixed(2)}x the direct time`);
    console.log(`  remote warm (from the store):                  ${mbps('warm')}  = ${(median(t.warm) / median(t.nginx)).toFixed(2)}x nginx's time`);

    const page = `${srv.url}/repo/pypi/proxy/simple/bench/`;
    await (await fetch(page)).text();
    const rps: Record<'remote' | 'nginx', number[]> = { remote: [], nginx: [] };
    for (let i = 0; i < ROUNDS; i++) {
      rps.remote.push(await pageRequestsPerSecond(page));
      rps.nginx.push(await pageRequestsPerSecond(`${nginx.url}/simple/bench/index.html`));
    }
    console.log(`project page, wrk -c16, ${WRK_SECONDS} s x ${ROUNDS} interleaved: warm PyPI remote ${median(rps.remote).toFixed(0)} req/s, nginx (the upstream's page) ${median(rps.nginx).toFixed(0)} req/s (ratio ${(median(rps.remote) / median(rps.nginx)).toFixed(2)})`);
  } finally {
    await upstream.stop();
    await nginx.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
