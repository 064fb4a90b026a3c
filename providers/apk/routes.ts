/**
 * Public keys (docs/formats/apk.md#key-names): apk looks a v2 signature's key up by file name
 * in /etc/apk/keys/, so each key is served under exactly the name it signs with.
 *
 *   GET keys, keys/    listing (HTML, or JSON [{name, url}] with Accept: application/json)
 *   GET keys/:name     the PEM public key
 *
 * The core sets res.locals.repo (RepoInfo, undefined when the repository does not exist),
 * res.locals.signer (RepoSigner) and res.locals.repoUrl before these handlers run.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { NotFoundError } from '../../src/core/errors';
import type { RepoInfo, RepoSigner, RsaSigner } from '../../src/core/provider';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function keysOf(res: Response): Promise<RsaSigner[]> {
  const repo = res.locals.repo as RepoInfo | undefined;
  if (!repo) throw new NotFoundError('no such repository');
  return (res.locals.signer as RepoSigner).rsa();
}

async function listKeys(req: Request, res: Response, next: NextFunction): Promise<void> {
  try {
    const keys = await keysOf(res);
    const base = `${res.locals.repoUrl as string}/keys/`;
    const list = keys.map((k) => ({ name: k.keyName, url: base + encodeURIComponent(k.keyName) }));
    res.vary('Accept');
    if (req.accepts(['text/html', 'application/json']) === 'application/json') {
      res.json(list);
      return;
    }
    const items = list.map((k) => `<li><a href="${escapeHtml(k.url)}">${escapeHtml(k.name)}</a></li>`).join('\n');
    res
      .type('text/html')
      .send(
        `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>apk signing keys</title></head><body>\n` +
          `<h1>apk signing keys</h1>\n<p>Save each key as /etc/apk/keys/&lt;name&gt; (the file name matters).</p>\n<ul>\n${items}\n</ul>\n</body></html>\n`,
      );
  } catch (e) {
    next(e);
  }
}

async function getKey(req: Request, res: Response, next: NextFunction): Promise<void> {
  try {
    const name = String(req.params.name);
    const key = (await keysOf(res)).find((k) => k.keyName === name);
    if (!key) throw new NotFoundError(`no apk key named ${name}`);
    res.type('application/x-pem-file').send(key.publicKeyPem);
  } catch (e) {
    next(e);
  }
}

export function apkRoutes(router: Router): void {
  router.get('/keys', listKeys);
  router.get('/keys/', listKeys);
  router.get('/keys/:name', getKey);
}
