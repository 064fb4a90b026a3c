/** Start artifactd as a child process (so its memory can be read from /proc) on a free port. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface ChildServer {
  url: string;
  token: string;
  pid: number;
  rssKb(): number;
  peakRssKb(): number;
  stop(): Promise<void>;
  /** SIGKILL: no cleanup, like a crash or an OOM kill. */
  kill9(): Promise<void>;
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * `compiled`: run dist/server.js (built by scripts/build.mjs), what `npm start` runs, instead of
 * the TypeScript sources; `root`: of another checkout (a benchmark's "before" build).
 */
export async function startChildServer(env: Record<string, string>, fixedPort?: number, opts: { compiled?: boolean; root?: string } = {}): Promise<ChildServer> {
  const port = fixedPort ?? (await freePort());
  const token = 'bench-admin-token-0123456789';
  const root = opts.root ?? path.resolve(__dirname, '../..');
  // node directly (not npx/tsx wrapper scripts) so the pid is the server's own.
  // CHILD_NODE_ARGS: extra node flags for the server (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a benchmark's server).
  const args = [...(process.env.CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(opts.compiled ? [path.join(root, 'dist/server.js')] : ['--import', 'tsx', path.join(root, 'src/main.ts')])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    // One master key for every child, like the admin token: benchmarks run several instances on one database.
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: token, MASTER_KEY: 'bench-master-key-0123456789', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    try {
      up = (await fetch(`${url}/healthz`)).ok;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!up) throw new Error(`server did not start:\n${output}`);
  return {
    url,
    token,
    pid: child.pid!,
    rssKb: () => status(child.pid!, 'VmRSS'),
    peakRssKb: () => status(child.pid!, 'VmHWM'),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    output: () => output,
  };
}
