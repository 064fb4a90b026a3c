/**
 * The anchors the data-path benchmarks measure artifactd against, shared so that every bench
 * runs them the same way: nginx (one worker, like one node process; sendfile on, access log
 * off) serving a directory on loopback, and wrk (every answer must be 2xx).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../test/helpers/child-server';

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** nginx serving `root` on 127.0.0.1; its config, pid and temp files live under `dir`. */
export async function startNginx(root: string, dir: string): Promise<Nginx> {
  const port = await freePort();
  const prefix = path.join(dir, 'nginx');
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/tmp/${t};`).join(' ');
  const conf = path.join(prefix, 'nginx.conf');
  // As root, workers would run as nobody and could not read a temp directory's files.
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes 1; ${process.getuid?.() === 0 ? 'user root;' : ''} pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;
events { worker_connections 1024; }
http { access_log off; ${temps} sendfile on; tcp_nopush on; keepalive_requests 1000000; default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; } }
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/`).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

export interface WrkOptions {
  threads?: number;
  connections?: number;
  seconds?: number;
  headers?: Record<string, string>;
}

export interface WrkResult {
  requestsPerSecond: number;
  /** Transfer/sec, in MB/s (10^6 bytes). */
  mbPerSecond: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** One wrk run against `url`; throws unless every answer was 2xx. */
export function wrk(url: string, opts: WrkOptions = {}): Promise<WrkResult> {
  const { threads = 2, connections = 16, seconds = 5, headers = {} } = opts;
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  return new Promise((resolve, reject) =>
    execFile('wrk', args, { encoding: 'utf8' }, (e, out) => {
      if (e) return reject(e);
      if (/Non-2xx or 3xx responses/.test(out)) return reject(new Error(`wrk ${url}: non-2xx answers\n${out}`));
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/.exec(out);
      if (!rps || !transfer) return reject(new Error(`wrk output not understood:\n${out}`));
      resolve({ requestsPerSecond: Number(rps[1]), mbPerSecond: (Number(transfer[1]) * UNITS[transfer[2]!]!) / 1e6 });
    }),
  );
}
