/**
 * The upload and download data path against tools that do only the I/O, interleaved A B A B
 * for BENCH_ROUNDS rounds (default 3), medians and ratios (ours / anchor):
 *   - upload of a BENCH_SIZE_MB (1024) file: curl -F to POST /addpkg (tar, until the 201) vs
 *     `cp` + `sync` of the same file on the same disk (`sync` runs untimed before each, so
 *     neither side pays for the other's dirty pages);
 *   - GET /healthz p50/p99 from a sequential loop during each upload, and idle;
 *   - download of that file: curl from the server vs curl from nginx (sendfile on, one worker)
 *     serving the very same blob file;
 *   - 8 parallel connections downloading a 10 MB file: wrk against each.
 * The server runs compiled (`node dist/server.js`; build first: node scripts/build.mjs) on
 * SQLite and local blobs. Prints figures; asserts nothing.
 *   npx tsx bench/datapath.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { startNginx, wrk } from './lib/anchors';

const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const SMALL_MB = 10;

/** CPU seconds (user + system) of the server's main thread and of the whole process, from /proc. */
function serverCpu(pid: number): { main: number; all: number } {
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in USER_HZ = 100
  };
  return { main: ticks(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')), all: ticks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args);
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exit ${code}: ${err}`))));
  });
}

async function upload(server: ChildServer, file: string, version: string, name = 'big'): Promise<{ url: string }> {
  const out = await run('curl', ['-sS', '--fail-with-body', '-H', `Authorization: Bearer ${server.token}`, '-F', `f=@${file}`, `${server.url}/addpkg?provider=tar&reponame=bench&name=${name}&version=${version}`]);
  return JSON.parse(out) as { url: string };
}

/** GET /healthz one after another on one kept-alive connection until `stop()`; latencies in ms. */
function healthLoop(url: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        http.get(`${url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/healthz ${res.statusCode}`))));
        }).on('error', reject);
      });
      lat.push(seconds(t0) * 1000);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      agent.destroy();
      return lat;
    },
  };
}

/** curl's own measured bytes per second of one download to /dev/null, in MB/s. */
async function curlDownload(url: string): Promise<number> {
  const out = await run('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', url]);
  const [speed, size] = out.trim().split(' ').map(Number);
  if (size !== sizeMb * 1024 * 1024) throw new Error(`${url}: got ${size} bytes`);
  return speed / 1e6;
}

/** wrk, 8 connections on 2 threads for 4 s; its Transfer/sec in MB/s. */
const wrkMbPerSecond = async (url: string) => (await wrk(url, { threads: 2, connections: 8, seconds: 4 })).mbPerSecond;

function row(label: string, ours: number[], anchor: number[], anchorName: string, unit = 'MB/s') {
  const o = median(ours);
  const a = median(anchor);
  console.log(`${label.padEnd(28)} ours ${o.toFixed(0).padStart(6)} ${unit}   ${anchorName.padEnd(12)} ${a.toFixed(0).padStart(6)} ${unit}   ratio ${(o / a).toFixed(2)}   (ours ${ours.map((x) => x.toFixed(0)).join(' ')} | ${anchorName} ${anchor.map((x) => x.toFixed(0)).join(' ')})`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-datapath-'));
  const big = path.join(dir, 'big.bin');
  const small = path.join(dir, 'small.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', `count=${sizeMb}`, 'status=none']);
  execFileSync('dd', ['if=/dev/urandom', `of=${small}`, 'bs=1M', `count=${SMALL_MB}`, 'status=none']);
  const mb = fs.statSync(big).size / 1e6;
  const dataDir = path.join(dir, 'data');
  const server = await startChildServer({ DATA_DIR: dataDir }, undefined, { compiled: true });
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    const idle = healthLoop(server.url);
    await new Promise((r) => setTimeout(r, 2000));
    const idleLat = await idle.stop();

    const cp: number[] = [];
    const up: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const cpuMain: number[] = [];
    const cpuAll: number[] = [];
    let bigUrl = '';
    for (let r = 0; r < rounds; r++) {
      execFileSync('sync');
      const copy = path.join(dir, 'copy.bin');
      let t0 = process.hrtime.bigint();
      execFileSync('cp', [big, copy]);
      execFileSync('sync');
      cp.push(mb / seconds(t0));
      fs.rmSync(copy);

      execFileSync('sync');
      const loop = healthLoop(server.url);
      const cpu0 = serverCpu(server.pid);
      t0 = process.hrtime.bigint();
      bigUrl = (await upload(server, big, `r${r}`)).url;
      up.push(mb / seconds(t0));
      const cpu1 = serverCpu(server.pid);
      cpuMain.push(((cpu1.main - cpu0.main) * 1073.741824) / mb);
      cpuAll.push(((cpu1.all - cpu0.all) * 1073.741824) / mb);
      const lat = await loop.stop();
      p50.push(pct(lat, 50));
      p99.push(pct(lat, 99));
    }
    const smallUrl = (await upload(server, small, '1', 'small')).url;

    // nginx serves the server's own blob files: same bytes, same inode, same page cache.
    nginx = await startNginx(dataDir, dir);
    const blobPath = (url: string) => {
      const sha = execFileSync('sha256sum', [url === bigUrl ? big : small], { encoding: 'utf8' }).split(' ')[0];
      return `/blobs/sha256/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;
    };
    const nginxBig = nginx.url + blobPath(bigUrl);
    const nginxSmall = nginx.url + blobPath(smallUrl);
    await curlDownload(nginxBig); // warm the page cache for both
    const dlOurs: number[] = [];
    const dlNginx: number[] = [];
    const parOurs: number[] = [];
    const parNginx: number[] = [];
    for (let r = 0; r < rounds; r++) {
      dlNginx.push(await curlDownload(nginxBig));
      dlOurs.push(await curlDownload(bigUrl));
    }
    for (let r = 0; r < rounds; r++) {
      parNginx.push(await wrkMbPerSecond(nginxSmall));
      parOurs.push(await wrkMbPerSecond(smallUrl));
    }

    console.log(`data path, ${os.availableParallelism()} cores (shared with other work: figures vary run to run), ${rounds} rounds, ${mb.toFixed(0)} MB file, node ${process.version}`);
    row(`upload ${mb.toFixed(0)} MB (curl -F)`, up, cp, 'cp+sync');
    console.log(`${'server CPU per GiB uploaded'.padEnd(28)} main thread ${median(cpuMain).toFixed(2)} s, all threads ${median(cpuAll).toFixed(2)} s (less load-sensitive than the rates)`);
    console.log(`${'/healthz during upload'.padEnd(28)} p50 ${median(p50).toFixed(1)} ms, p99 ${median(p99).toFixed(1)} ms (medians over rounds; per round p99 ${p99.map((x) => x.toFixed(1)).join(' ')}); idle p50 ${pct(idleLat, 50).toFixed(1)} ms, p99 ${pct(idleLat, 99).toFixed(1)} ms`);
    row(`download ${mb.toFixed(0)} MB (curl)`, dlOurs, dlNginx, 'nginx');
    row(`8 x ${SMALL_MB} MB parallel (wrk)`, parOurs, parNginx, 'nginx');
  } finally {
    await nginx?.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
