/**
 * A real upstream for remote-repository tests: `python3 -m http.server` serving a directory on
 * 127.0.0.1 only (never the internet), with its own request log (one line per request on
 * stderr) so tests count what the upstream really served.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface StaticUpstream {
  url: string;
  /** Paths the upstream was asked for (GET/HEAD), in order. */
  requests(): string[];
  stop(): Promise<void>;
}

export async function startStaticUpstream(dir: string, port = 0): Promise<StaticUpstream> {
  const child: ChildProcess = spawn('python3', ['-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    const lines = stderr.split('\n');
    stderr = lines.pop()!;
    log.push(...lines);
  });
  const actualPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`http.server exited (${code}): ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${actualPort}`,
    requests: () => log.map((l) => /"(?:GET|HEAD) (\S+) HTTP/.exec(l)?.[1]).filter((p): p is string => !!p),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface TreeFile {
  /** A local file to publish under files/. */
  file: string;
  requiresPython?: string;
  yanked?: string | true;
  /** Also publish `<file>.metadata` (PEP 658) with this content. */
  metadata?: string;
  /** Advertise this sha256 instead of the real one (a corrupted upstream). */
  claimSha256?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const sha = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

/** A static PEP 503 tree under `root`: simple/index.html, simple/<project>/index.html, files/<name>. */
export function writeSimpleTree(root: string, projects: Record<string, TreeFile[]>): void {
  fs.mkdirSync(path.join(root, 'simple'), { recursive: true });
  fs.mkdirSync(path.join(root, 'files'), { recursive: true });
  const names = Object.keys(projects).sort();
  fs.writeFileSync(path.join(root, 'simple', 'index.html'), `<!DOCTYPE html><html><body>\n${names.map((n) => `<a href="${n}/">${n}</a>`).join('\n')}\n</body></html>\n`);
  for (const n of names) {
    const links: string[] = [];
    for (const f of projects[n]!) {
      const base = path.basename(f.file);
      const data = fs.readFileSync(f.file);
      fs.writeFileSync(path.join(root, 'files', base), data);
      let a = `<a href="../../files/${base}#sha256=${f.claimSha256 ?? sha(data)}"`;
      if (f.requiresPython) a += ` data-requires-python="${esc(f.requiresPython)}"`;
      if (f.metadata !== undefined) {
        fs.writeFileSync(path.join(root, 'files', `${base}.metadata`), f.metadata);
        a += ` data-core-metadata="sha256=${sha(f.metadata)}"`;
      }
      if (f.yanked !== undefined) a += ` data-yanked="${f.yanked === true ? '' : esc(f.yanked)}"`;
      links.push(`${a}>${base}</a><br/>`);
    }
    fs.mkdirSync(path.join(root, 'simple', n), { recursive: true });
    fs.writeFileSync(path.join(root, 'simple', n, 'index.html'), `<!DOCTYPE html><html><body><h1>Links for ${n}</h1>\n${links.join('\n')}\n</body></html>\n`);
  }
}
