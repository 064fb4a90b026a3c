/**
 * Start-up times, interleaved (A B C ... per round, median of ROUNDS): `rpcli --help` from the
 * bundle (dist/rpcli.js, what GET /rpcli serves) and from the TypeScript sources through tsx,
 * next to `node -e 0`; and the compiled server (dist/server.js) from spawn to its first
 * /healthz 200, next to the sources through tsx. Prints figures; asserts nothing.
 *   npm run build && npx tsx bench/startup.ts
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeCommand(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function timeServer(args: string[]): Promise<number> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, DATA_DIR: data, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ADMIN_TOKEN: 'bench-admin-token-0123456789' }, stdio: 'ignore' });
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return Number(process.hrtime.bigint() - t) / 1e6;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
}

async function main() {
  if (!fs.existsSync(path.join(root, 'dist/rpcli.js'))) throw new Error('run npm run build first');
  const tsxCli = ['--import', 'tsx', '-e', "require('./src/cli/main.ts').run(['--help'])"];
  const cli = { node: [] as number[], bundle: [] as number[], tsx: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    cli.node.push(timeCommand(process.execPath, ['-e', '0']));
    cli.bundle.push(timeCommand(process.execPath, ['dist/rpcli.js', '--help']));
    cli.tsx.push(timeCommand(process.execPath, tsxCli));
  }
  console.log(`rpcli --help, median of ${ROUNDS} (interleaved):`);
  console.log(`  node -e 0            ${median(cli.node).toFixed(0)} ms`);
  console.log(`  dist/rpcli.js        ${median(cli.bundle).toFixed(0)} ms  (${(median(cli.bundle) / median(cli.node)).toFixed(2)}x node -e 0)`);
  console.log(`  sources through tsx  ${median(cli.tsx).toFixed(0)} ms`);

  const server = { dist: [] as number[], tsx: [] as number[] };
  const rounds = Math.max(3, Math.floor(ROUNDS / 2));
  for (let i = 0; i < rounds; i++) {
    server.dist.push(await timeServer(['dist/server.js']));
    server.tsx.push(await timeServer(['--import', 'tsx', 'src/main.ts']));
  }
  console.log(`server spawn -> first /healthz 200 (fresh data dir), median of ${rounds}:`);
  console.log(`  dist/server.js       ${median(server.dist).toFixed(0)} ms`);
  console.log(`  sources through tsx  ${median(server.tsx).toFixed(0)} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
