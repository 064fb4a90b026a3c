/**
 * Runs the real rpcli (`node bin/rpcli.js`) as a child process, with a clean environment:
 * no RPCLI_* variables from the caller and a private HOME/XDG_CONFIG_HOME, so a developer's
 * own config file can never leak into a test.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/rpcli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-home-'));

export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('RPCLI_') && k !== 'XDG_CONFIG_HOME' && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...extra };
}

export function rpcli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: cliEnv(opts.env), cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** POSIX shell quoting for `script -c`. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run rpcli on a pseudo-terminal (util-linux `script`): stdout and stderr arrive merged. */
export function rpcliOnPty(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const cmd = [process.execPath, BIN, ...args].map(shq).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qfec', cmd, '/dev/null'], { env: cliEnv(opts.env), cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The assertion most error tests make: exactly one line on stderr, prefixed, no stack trace. */
export function oneErrorLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  if (lines.length !== 1 || !lines[0].startsWith('rpcli: error: ') || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one "rpcli: error:" line on stderr, got ${JSON.stringify(r.stderr)}`);
  }
  return lines[0].slice('rpcli: error: '.length);
}

/** Write a test file under `dir` (creating subdirectories). */
export function writeFile(dir: string, name: string, data: Buffer | string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
}

/** A TCP port nobody listens on (fetch refuses some well-known ports such as 1). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A token made through the API directly (not through the CLI under test). */
export async function createToken(server: string, adminToken: string, role: string, repoPattern?: string): Promise<string> {
  const r = await fetch(`${server}/api/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `t-${role}-${crypto.randomBytes(3).toString('hex')}`, role, repoPattern }),
  });
  if (r.status !== 201) throw new Error(`creating a token: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}
