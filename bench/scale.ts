/**
 * Horizontal scale: uploads/s into different repositories with 1, 2 and 3 instances
 * sharing one MariaDB database and one S3 bucket (s3rver in this process). Each upload
 * is a small .deb into its own apt repository, so every upload also builds and signs an
 * index. Prints figures; asserts nothing.
 *   npx tsx bench/scale.ts            (BENCH_UPLOADS=300 to change the count)
 */
import fs from 'node:fs';
import path from 'node:path';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { startS3rver } from '../test/helpers/s3';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { buildDeb, controlText, tmpDir } from '../test/unit/apt/helpers';

const uploads = Number(process.env.BENCH_UPLOADS ?? 300);
const concurrency = 12;

async function post(server: ChildServer, deb: string, repo: string): Promise<number> {
  const form = new FormData();
  form.append('f', await fs.openAsBlob(deb), path.basename(deb));
  const r = await fetch(`${server.url}/addpkg?reponame=${repo}&dist=stable`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${server.token}` } });
  await r.text();
  return r.status;
}

async function main() {
  const work = tmpDir('bench-scale-');
  const debs = Array.from({ length: uploads }, (_, i) =>
    buildDeb(work, controlText({ Package: `scale${i}`, Version: '1.0', Architecture: 'amd64', Maintainer: 'B <b@example.com>', Description: 'bench' }), 'gzip'),
  );
  const s3 = await startS3rver();
  console.log(`${uploads} uploads, ${concurrency} in flight, each into its own apt repository (upload + index build + sign)`);
  for (const n of [1, 2, 3]) {
    const db = await createMysqlDatabase();
    const env = { DATABASE_URL: db.url, S3_URL: s3.url(`scale-${n}-${Date.now()}`), LOG_LEVEL: 'error' };
    const servers: ChildServer[] = [];
    for (let i = 0; i < n; i++) servers.push(await startChildServer({ ...env, DATA_DIR: path.join(work, `data-${n}-${i}`) }));
    let next = 0;
    let failed = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < uploads) {
          const i = next++;
          if ((await post(servers[i % n], debs[i], `r${i}`)) !== 201) failed++;
        }
      }),
    );
    const sec = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`${n} instance(s): ${(uploads / sec).toFixed(1)} uploads/s (${sec.toFixed(2)} s, ${failed} failed)`);
    for (const s of servers) await s.stop();
    await db.drop();
  }
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
