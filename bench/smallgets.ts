/**
 * Small GETs (issue 15): req/s for a 4 KB package file (tar), an apt InRelease and a PyPI
 * project page (JSON), served by artifactd (compiled dist/server.js, child process, SQLite)
 * and by nginx serving the very same bytes from a temp directory. Both get the same
 * `wrk -t2 -c16 -d<s>s` command, interleaved A B A B over BENCH_ROUNDS rounds; prints medians
 * and the ratio artifactd/nginx. Both log nothing per request (artifactd LOG_LEVEL=warn,
 * nginx access_log off). Needs `node scripts/build.mjs` first. Prints figures; asserts nothing.
 * BENCH_BEFORE=<checkout with a built dist/server.js> (e.g. `git archive` of an older commit
 * with node_modules linked) adds that build as a third contender, interleaved A B C A B C.
 *   npx tsx bench/smallgets.ts        # BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_BEFORE=
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postPackage } from './lib/bench-client';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { startNginx, wrk, type Nginx } from './lib/anchors';
import { synthDeb } from '../test/integration/apt-tools';
import { py } from '../test/unit/pypi/helpers';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function wheel(dir: string, project: string, version: string): string {
  py(
    `
import zipfile, os
dist = f"{A['project']}-{A['version']}"
with zipfile.ZipFile(os.path.join(A['dir'], f"{dist}-py3-none-any.whl"), 'w') as z:
    z.writestr(f"{A['project']}/__init__.py", "X = 1\\n")
    z.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\\nName: {A['project']}\\nVersion: {A['version']}\\nSummary: bench\\n")
    z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr(f"{dist}.dist-info/RECORD", "")
`,
    { dir, project, version },
  );
  return path.join(dir, `${project}-${version}-py3-none-any.whl`);
}

const requestsPerSecond = async (url: string, headers: Record<string, string>) => (await wrk(url, { threads: 2, connections: 16, seconds: SECONDS, headers })).requestsPerSecond;

/** The same packages into a server: the bench's three URLs then exist. */
async function fill(srv: ChildServer, dir: string): Promise<void> {
  await postPackage(srv, { name: 'payload-1.0.tar.gz', data: PAYLOAD }, { provider: 'tar', reponame: 'bench', name: 'payload', version: '1.0' }, true);
  await postPackage(srv, { name: 'hello_1.0_amd64.deb', data: synthDeb('Package: hello\nVersion: 1.0\nArchitecture: amd64\nMaintainer: B <b@example.org>\nDescription: bench\n') }, { provider: 'apt', reponame: 'bench', dist: 'stable', component: 'main' }, true);
  await postPackage(srv, wheel(dir, 'bench_project', '1.0'), { provider: 'pypi', reponame: 'bench' }, true);
  await postPackage(srv, wheel(dir, 'bench_project', '1.1'), { provider: 'pypi', reponame: 'bench' }, true);
}

const PAYLOAD = crypto.randomBytes(4096);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smallgets-'));
  const srv = await startChildServer({ DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn' }, undefined, { compiled: true });
  const before = process.env.BENCH_BEFORE ? await startChildServer({ DATA_DIR: path.join(dir, 'data-before'), LOG_LEVEL: 'warn' }, undefined, { compiled: true, root: process.env.BENCH_BEFORE }) : null;
  const www = path.join(dir, 'www');
  let nginx: Nginx | undefined;
  try {
    await fill(srv, dir);
    if (before) await fill(before, dir);
    const targets = [
      { label: '4 KB package file', path: '/repo/tar/bench/payload/1.0/payload-1.0.tar.gz', headers: {} as Record<string, string> },
      { label: 'apt InRelease', path: '/repo/apt/bench/dists/stable/InRelease', headers: {} },
      { label: 'PyPI project page (JSON)', path: '/repo/pypi/bench/simple/bench-project/', headers: { Accept: 'application/vnd.pypi.simple.v1+json' } },
    ];
    // nginx gets the bytes artifactd serves, each under its own file name.
    fs.chmodSync(dir, 0o755); // nginx workers (user nobody when started as root) read www/
    fs.mkdirSync(www);
    for (const [i, t] of targets.entries()) {
      const r = await fetch(srv.url + t.path, { headers: t.headers });
      if (r.status !== 200) throw new Error(`GET ${t.path}: ${r.status}`);
      fs.writeFileSync(path.join(www, `f${i}`), Buffer.from(await r.arrayBuffer()));
    }
    nginx = await startNginx(www, dir);
    console.log(`wrk -t2 -c16 -d${SECONDS}s, ${ROUNDS} rounds interleaved (artifactd, nginx[, before], artifactd, ...); artifactd: compiled, SQLite, LOG_LEVEL=warn; nginx: 1 worker, access_log off`);
    console.log(`machine: ${os.cpus().length} cores, shared with other jobs (figures are noisy; ratios from the same run)`);
    // Warm-up (JIT, caches), each URL once on each server.
    for (const t of targets) for (const s of [srv, before]) if (s) await requestsPerSecond(s.url + t.path, t.headers);
    const list = (xs: number[]) => `median ${median(xs).toFixed(0)} req/s [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
    for (const [i, t] of targets.entries()) {
      const a: number[] = [];
      const n: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        a.push(await requestsPerSecond(srv.url + t.path, t.headers));
        n.push(await requestsPerSecond(`${nginx.url}/f${i}`, t.headers));
        if (before) b.push(await requestsPerSecond(before.url + t.path, t.headers));
      }
      const size = fs.statSync(path.join(www, `f${i}`)).size;
      console.log(`${t.label} (${size} bytes): artifactd ${list(a)}, nginx ${list(n)}, ratio ${(median(a) / median(n)).toFixed(3)}`);
      if (before) console.log(`  before (${process.env.BENCH_BEFORE}): ${list(b)}, ratio to nginx ${(median(b) / median(n)).toFixed(3)}; artifactd now / before ${(median(a) / median(b)).toFixed(2)}x`);
    }
  } finally {
    await nginx?.stop();
    await before?.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
