/**
 * nginx serving a static publish directory (STATIC_PUBLISH_DIR) at /repo/, as the README's
 * example config does: `<dir>/<provider>/<repo>/...` answers `/repo/<provider>/<repo>/...`,
 * the URLs the server itself uses (PyPI pages name their files root-relative, `/repo/pypi/...`).
 */
import path from 'node:path';
import { startNginxWith, type Nginx } from './nginx';

export type StaticNginx = Nginx;

/** The `location` blocks of the README's example (kept identical to it). */
export function staticLocations(dir: string): string {
  return `location /repo/ { alias ${dir.replace(/\/?$/, '/')}; index index.html; }
    location /repo/.artifactd/ { deny all; }`;
}

export function startStaticNginx(dir: string, workDir: string): Promise<StaticNginx> {
  return startNginxWith(path.join(workDir, 'nginx-static'), () => staticLocations(dir), '/repo/');
}
