/**
 * nginx serving a static publish directory (STATIC_PUBLISH_DIR) at /repo/, as the README's
 * example config does: `<dir>/<provider>/<repo>/...` answers `/repo/<provider>/<repo>/...`,
 * the URLs the server itself uses (PyPI pages name their files root-relative, `/repo/pypi/...`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './child-server';

export interface StaticNginx {
  url: string;
  stop(): Promise<void>;
}

/** The `location` blocks of the README's example (kept identical to it). */
export function staticLocations(dir: string): string {
  return `location /repo/ { alias ${dir.replace(/\/?$/, '/')}; index index.html; }
    location /repo/.artifactd/ { deny all; }`;
}

export async function startStaticNginx(dir: string, workDir: string): Promise<StaticNginx> {
  const port = await freePort();
  const prefix = path.join(workDir, 'nginx-static');
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/tmp/${t};`).join(' ');
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes 1; ${process.getuid?.() === 0 ? 'user root;' : ''} pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;
events { worker_connections 1024; }
http { access_log off; ${temps} sendfile on; tcp_nopush on; keepalive_requests 1000000; include /etc/nginx/mime.types; default_type application/octet-stream;
  server { listen 127.0.0.1:${port};
    ${staticLocations(dir)} } }
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/repo/`).then(() => true, () => false)) break;
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
