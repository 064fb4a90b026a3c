/**
 * Static publishing (issue 15): what reads cost once the server writes its repositories to a
 * directory (STATIC_PUBLISH_DIR) that nginx serves. wrk req/s for an apt InRelease and a 4 KB
 * package file from
 *   A. nginx serving the static publish directory (the README's config),
 *   B. nginx serving a plain `cp -a` copy of the same files (the anchor: equal by construction),
 *   C. artifactd serving the same paths itself (compiled dist/server.js, SQLite),
 * interleaved A B C A B C over BENCH_ROUNDS rounds; medians and ratios. Then the sync time per
 * publish: BENCH_PUBLISHES uploads, each timed from POST to 201 (the server's own publish) and
 * from 201 to the static InRelease being the server's (the background sync), medians printed.
 * STATIC_PUBLISH_INTERVAL_SECONDS=0, so the figure is the sync itself, not the spacing of syncs.
 * Needs `node scripts/build.mjs` first. Prints figures; asserts nothing.
 *   npx tsx bench/static.ts        # BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_PUBLISHES=10
 */
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postPackage } from './lib/bench-client';
import { wrk } from './lib/anchors';
import { median } from './lib/paired';
import { startChildServer } from '../test/helpers/child-server';
import { startStaticNginx, type StaticNginx } from '../test/helpers/static-nginx';
import { synthDeb } from '../test/integration/apt-tools';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 10);
const PAYLOAD = crypto.randomBytes(4096);
const deb = (version: string) => synthDeb(`Package: hello\nVersion: ${version}\nArchitecture: amd64\nMaintainer: B <b@example.org>\nDescription: bench\n`);
const rps = async (url: string) => (await wrk(url, { threads: 2, connections: 16, seconds: SECONDS })).requestsPerSecond;
const list = (xs: number[]) => `median ${median(xs).toFixed(0)} req/s [${xs.map((x) => x.toFixed(0)).join(', ')}]`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-static-'));
  fs.chmodSync(dir, 0o755); // nginx workers read the static tree
  const staticDir = path.join(dir, 'static');
  const copyDir = path.join(dir, 'copy');
  fs.mkdirSync(staticDir);
  const srv = await startChildServer({ DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn', STATIC_PUBLISH_DIR: staticDir, STATIC_PUBLISH_INTERVAL_SECONDS: '0' }, undefined, { compiled: true });
  const nginxes: StaticNginx[] = [];
  try {
    await postPackage(srv, { name: 'payload-1.0.tar.gz', data: PAYLOAD }, { provider: 'tar', reponame: 'bench', name: 'payload', version: '1.0' }, true);
    await postPackage(srv, { name: 'hello_1.0_amd64.deb', data: deb('1.0') }, { provider: 'apt', reponame: 'bench', dist: 'stable', component: 'main' }, true);
    const inRelease = '/repo/apt/bench/dists/stable/InRelease';
    const served = async (base: string, p: string) => {
      const r = await fetch(base + p);
      return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : null;
    };
    const pub = await startStaticNginx(staticDir, path.join(dir, 'a'));
    nginxes.push(pub);
    // The background sync follows the 201: wait until the static copy is the server's.
    const want = await served(srv.url, inRelease);
    while (!(await served(pub.url, inRelease))?.equals(want!)) await new Promise((r) => setTimeout(r, 20));
    execFileSync('cp', ['-a', staticDir, copyDir]);
    const copy = await startStaticNginx(copyDir, path.join(dir, 'b'));
    nginxes.push(copy);
    const targets = [
      { label: 'apt InRelease', path: inRelease },
      { label: '4 KB package file', path: '/repo/tar/bench/payload/1.0/payload-1.0.tar.gz' },
    ];
    for (const t of targets) for (const base of [pub.url, copy.url, srv.url]) if (!(await served(base, t.path))?.equals((await served(srv.url, t.path))!)) throw new Error(`${base}${t.path} differs from the server's`);
    console.log(`wrk -t2 -c16 -d${SECONDS}s, ${ROUNDS} rounds interleaved (nginx on the static publish dir, nginx on a cp -a copy, artifactd); nginx: 1 worker, access_log off; artifactd: compiled, SQLite, LOG_LEVEL=warn`);
    console.log(`machine: ${os.cpus().length} cores, shared with other jobs (figures are noisy; ratios from the same run)`);
    for (const t of targets) for (const base of [pub.url, copy.url, srv.url]) await rps(base + t.path); // warm-up
    for (const t of targets) {
      const a: number[] = [];
      const b: number[] = [];
      const c: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        a.push(await rps(pub.url + t.path));
        b.push(await rps(copy.url + t.path));
        c.push(await rps(srv.url + t.path));
      }
      console.log(`${t.label}: static dir ${list(a)}; plain copy ${list(b)}; artifactd ${list(c)}; static/copy ${(median(a) / median(b)).toFixed(2)}, static/artifactd ${(median(a) / median(c)).toFixed(1)}x`);
    }
    const publish: number[] = [];
    const sync: number[] = [];
    for (let i = 0; i < PUBLISHES; i++) {
      const t0 = performance.now();
      await postPackage(srv, { name: `hello_2.${i}_amd64.deb`, data: deb(`2.${i}`) }, { provider: 'apt', reponame: 'bench', dist: 'stable', component: 'main' }, true);
      const t1 = performance.now();
      const now = await served(srv.url, inRelease);
      while (!(await served(pub.url, inRelease))?.equals(now!)) await new Promise((r) => setTimeout(r, 2));
      publish.push(t1 - t0);
      sync.push(performance.now() - t1);
    }
    console.log(`sync per publish (apt, ${PUBLISHES} uploads): upload to 201 median ${median(publish).toFixed(0)} ms; 201 to static InRelease current median ${median(sync).toFixed(0)} ms [${sync.map((x) => x.toFixed(0)).join(', ')}]; sync/publish ${(median(sync) / median(publish)).toFixed(2)}`);
  } finally {
    for (const n of nginxes) await n.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
