/**
 * apk: time from an upload to the new signed APKINDEX.tar.gz, on a branch that already holds
 * 1,000 and 10,000 packages (BENCH_SIZES=1000,10000 to change; BENCH_SINGLE uploads timed per
 * size, default 10). Prints figures; asserts nothing.
 *
 * - Packages are made in-process by the test builder (test/unit/apk/apk-builder.ts), 5 %
 *   noarch (listed in every architecture index), the rest x86_64.
 * - The base set goes in through POST /addpkg?wait=0 in parallel batches; the server's sweep
 *   publishes it (PUBLISH_SWEEP_SECONDS=1), and we wait until every scope is published.
 * - Then single uploads with wait (201 = the new index is stored and current), each followed
 *   by a fetch of the new x86_64 APKINDEX.tar.gz, checked to list the package.
 * - The server runs as a child process with LOG_LEVEL=info, so its own "publish" log lines
 *   give the time spent building each index (buildIndex + blob + generation flip).
 *
 *   npx tsx bench/apk.ts                       (SQLite)
 *   BENCH_DB=mysql npx tsx bench/apk.ts        (MariaDB at TEST_MYSQL_URL or root@127.0.0.1)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inParallel, postPackage, publishLines, waitPublished as waitPublishedFor } from './lib/bench-client';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { buildApk, pkginfoFor } from '../test/unit/apk/apk-builder';
import { readIndex } from '../test/unit/apk/apk-index-reader';

const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const singles = Number(process.env.BENCH_SINGLE ?? 10);
const CONCURRENCY = 16;

function makeApk(i: number, arch = i % 20 === 0 ? 'noarch' : 'x86_64', version = '1.0-r0'): Buffer {
  const name = `pkg${i}`;
  return buildApk({
    pkginfo: pkginfoFor(name, version, arch, [['depend', 'musl'], ['depend', `so:lib${i % 97}.so.1`], ['provides', `cmd:${name}=${version}`]]),
    files: [{ name: 'usr/', type: 'dir' }, { name: 'usr/bin/', type: 'dir' }, { name: `usr/bin/${name}`, content: `#!/bin/sh\necho ${name} ${version}\n` }],
  }).bytes;
}

async function post(server: ChildServer, repo: string, bytes: Buffer, wait: boolean): Promise<number> {
  return postPackage(server, { name: 'p.apk', data: bytes }, { provider: 'apk', reponame: repo, branch: 'main' }, wait);
}

const waitPublished = (server: ChildServer, repo: string) => waitPublishedFor(server, 'apk', repo);

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
}

/** "publish" log lines of the child server since `from` (character offset in its output). */
function publishLogs(server: ChildServer, from: number, scope: string): number[] {
  return publishLines(server, from).filter((l) => l.scope === scope).map((l) => l.durationMs);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-apk-'));
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info', PUBLISH_SWEEP_SECONDS: '1' };
  let drop: (() => Promise<void>) | undefined;
  if (process.env.BENCH_DB === 'mysql') {
    const db = await createMysqlDatabase();
    env.DATABASE_URL = db.url;
    drop = db.drop;
  }
  const server = await startChildServer(env);
  console.log(`apk publish benchmark (${process.env.BENCH_DB === 'mysql' ? 'MariaDB' : 'SQLite'}, local blob store, ${os.cpus().length} CPUs)`);
  try {
    for (const n of sizes) {
      const repo = `bench${n}`;
      let t = process.hrtime.bigint();
      const pkgs = Array.from({ length: n }, (_, i) => makeApk(i));
      const buildMs = ms(t);
      t = process.hrtime.bigint();
      await inParallel(pkgs, CONCURRENCY, (p) => post(server, repo, p, false));
      const insertMs = ms(t);
      await waitPublished(server, repo);
      const settleMs = ms(t) - insertMs;

      const logFrom = server.output().length;
      const uploadMs: number[] = [];
      const fetchMs: number[] = [];
      let indexBytes = 0;
      for (let k = 0; k < singles; k++) {
        const bytes = makeApk(n + 1 + k, 'x86_64');
        t = process.hrtime.bigint();
        await post(server, repo, bytes, true);
        uploadMs.push(ms(t));
        t = process.hrtime.bigint();
        const res = await fetch(`${server.url}/repo/apk/${repo}/main/x86_64/APKINDEX.tar.gz`);
        const idx = Buffer.from(await res.arrayBuffer());
        fetchMs.push(ms(t));
        indexBytes = idx.length;
        const records = readIndex(idx).records;
        if (!records.some((r) => r.get('P') === `pkg${n + 1 + k}`)) throw new Error('the new package is not in the fetched index');
        if (records.length !== n + 1 + k) throw new Error(`index has ${records.length} records, expected ${n + 1 + k}`);
      }
      const builds = publishLogs(server, logFrom, 'main/x86_64');
      console.log(`\n${n} packages in branch main (x86_64 index ${(indexBytes / 1024).toFixed(0)} KiB)`);
      console.log(`  build ${n} .apk in-process:            ${buildMs.toFixed(0)} ms`);
      console.log(`  upload them, wait=0, ${CONCURRENCY} in parallel: ${insertMs.toFixed(0)} ms (${((n / insertMs) * 1000).toFixed(0)} uploads/s)`);
      console.log(`  then until every index is published:    ${settleMs.toFixed(0)} ms`);
      console.log(`  single upload with wait -> 201:         ${stats(uploadMs)}`);
      console.log(`  fetch of the new APKINDEX.tar.gz:       ${stats(fetchMs)}`);
      console.log(`  upload -> new index fetched:            ${stats(uploadMs.map((u, i) => u + fetchMs[i]!))}`);
      if (builds.length) console.log(`  server publish of main/x86_64 (log):    ${stats(builds)} over ${builds.length} builds`);
    }
    console.log(`\nserver peak RSS: ${(server.peakRssKb() / 1024).toFixed(0)} MiB`);
  } catch (e) {
    const lines = server.output().split('\n').filter((l) => !l.includes('"level":"info"'));
    console.error(`server output (not info), last lines:\n${lines.slice(-30).join('\n')}`);
    throw e;
  } finally {
    await server.stop();
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
