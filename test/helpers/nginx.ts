/**
 * nginx on 127.0.0.1 for tests and benchmarks (the anchor of bench/lib/anchors.ts, the static
 * copy of static-publish.test.ts): one worker, like one node process; sendfile on, access log
 * off. `server` is the body of its server block; config, pid and temp files live under `prefix`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './child-server';

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

export async function startNginxWith(prefix: string, server: (port: number) => string, readyPath = '/'): Promise<Nginx> {
  const port = await freePort();
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/tmp/${t};`).join(' ');
  const conf = path.join(prefix, 'nginx.conf');
  // As root, workers would run as nobody and could not read a temp directory's files.
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes 1; ${process.getuid?.() === 0 ? 'user root;' : ''} pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;
events { worker_connections 1024; }
http { access_log off; ${temps} sendfile on; tcp_nopush on; keepalive_requests 1000000; include /etc/nginx/mime.types; default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; ${server(port)} } }
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}${readyPath}`).then(() => true, () => false)) break;
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
