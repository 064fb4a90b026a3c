/**
 * Public keys (docs/formats/apk.md#key-names): apk looks a v2 signature's key up by file name
 * in /etc/apk/keys/, so each key is served under exactly the name it signs with.
 *
 *   GET keys, keys/    listing: HTML, or with Accept: application/json the `{path, entries}`
 *                      shape of every other listing (each entry with its `url`)
 *   GET keys/:name     the PEM public key
 */
import type { Request, Response } from 'express';
import { NotFoundError } from '../../src/core/errors';
import type { ProviderRoute, RouteContext } from '../../src/core/provider';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A remote passes the upstream's APKINDEX through: our keys sign nothing there. */
function refuseRemote(ctx: RouteContext): void {
  if (ctx.repo.kind === 'remote') throw new NotFoundError(`${ctx.repo.name} is a remote repository: its APKINDEX is signed by the upstream; install the upstream's keys in /etc/apk/keys/`);
}

async function listKeys(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  refuseRemote(ctx);
  const keys = await ctx.signer.rsa();
  const base = `${ctx.repoUrl}/keys/`;
  const list = keys.map((k) => ({ name: k.keyName, url: base + encodeURIComponent(k.keyName), size: Buffer.byteLength(k.publicKeyPem) }));
  res.vary('Accept');
  if (req.accepts(['text/html', 'application/json']) === 'application/json') {
    res.json({ path: req.originalUrl.split('?')[0], entries: list.map((k) => ({ name: k.name, type: 'file', size: k.size, modified: null, url: k.url })) });
    return;
  }
  const items = list.map((k) => `<li><a href="${escapeHtml(k.url)}">${escapeHtml(k.name)}</a></li>`).join('\n');
  res
    .type('text/html')
    .send(
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>apk signing keys</title></head><body>\n` +
        `<h1>apk signing keys</h1>\n<p>Save each key as /etc/apk/keys/&lt;name&gt; (the file name matters).</p>\n<ul>\n${items}\n</ul>\n</body></html>\n`,
    );
}

export const apkRoutes: readonly ProviderRoute[] = [
  { path: '/keys', handler: listKeys },
  { path: '/keys/', handler: listKeys },
  {
    path: '/keys/:name',
    async handler(ctx, req, res) {
      refuseRemote(ctx);
      const name = String(req.params.name);
      const key = (await ctx.signer.rsa()).find((k) => k.keyName === name);
      if (!key) throw new NotFoundError(`no apk key named ${name}`);
      res.type('application/x-pem-file').send(key.publicKeyPem);
    },
  },
];
