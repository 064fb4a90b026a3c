/**
 * The anchors the data-path benchmarks measure artifactd against, shared so that every bench
 * runs them the same way: nginx (one worker, like one node process; sendfile on, access log
 * off) serving a directory on loopback, and wrk (every answer must be 2xx).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startNginxWith, type Nginx } from '../../test/helpers/nginx';

export type { Nginx };

/** nginx serving `root` on 127.0.0.1; its config, pid and temp files live under `dir`. */
export function startNginx(root: string, dir: string): Promise<Nginx> {
  return startNginxWith(path.join(dir, 'nginx'), () => `root ${root};`);
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
