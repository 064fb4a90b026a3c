/**
 * Upload throughput and memory: a 1 GiB file (BENCH_SIZE_MB to change) through POST /addpkg
 * with curl, next to `cp` of the same file on the same disk, plus the server's peak RSS
 * (VmHWM). Prints figures; asserts nothing.
 *   npx tsx bench/upload.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startChildServer } from '../test/helpers/child-server';

const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 1024);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-upload-'));
  const file = path.join(dir, 'big.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${sizeMb}`, 'status=none']);
  const bytes = fs.statSync(file).size;

  let t = process.hrtime.bigint();
  execFileSync('cp', [file, path.join(dir, 'copy.bin')]);
  execFileSync('sync');
  const cpSec = Number(process.hrtime.bigint() - t) / 1e9;
  fs.rmSync(path.join(dir, 'copy.bin'));

  const server = await startChildServer({ DATA_DIR: path.join(dir, 'data') });
  const rssBefore = server.rssKb();
  t = process.hrtime.bigint();
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn('curl', ['-sS', '-H', `Authorization: Bearer ${server.token}`, '-F', `f=@${file}`, `${server.url}/addpkg?provider=tar&reponame=bench&name=big&version=1`]);
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`curl exit ${code}`))));
  });
  const upSec = Number(process.hrtime.bigint() - t) / 1e9;
  const peakKb = server.peakRssKb();
  await server.stop();
  const mb = bytes / 1e6;
  console.log(JSON.stringify(JSON.parse(out)).slice(0, 120));
  console.log(`file size:            ${mb.toFixed(0)} MB`);
  console.log(`cp + sync:            ${cpSec.toFixed(2)} s  (${(mb / cpSec).toFixed(0)} MB/s)`);
  console.log(`POST /addpkg (curl):  ${upSec.toFixed(2)} s  (${(mb / upSec).toFixed(0)} MB/s, includes sha256 (in a worker) and publishing)`);
  console.log(`server RSS:           ${(rssBefore / 1024).toFixed(0)} MiB at start, peak ${(peakKb / 1024).toFixed(0)} MiB`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
