/**
 * Everything under /repo/<provider>/<repo>/: provider routes first, then one generic
 * resolution for GET/HEAD: index file of the current generation -> historic index file
 * (apt by-hash) -> package file (and provider fallbacks) -> attachment (`.sig`,
 * `.metadata`) -> `<file>.sha256` checksum line -> directory listing.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { NotFoundError } from '../core/errors';
import { toEntryRow } from '../core/publisher';
import type { Provider, RequestView } from '../core/provider';
import { providers } from '../core/provider-registry';
import type { Services } from '../services';
import { contentTypeFor } from './content-types';
import { sendListing } from './listing';
import { asyncRoute } from './middleware';
import { sendBlob } from './send-blob';
import { handleUpload, type UploadOptions } from './upload-handler';
import { repoUrl } from './urls';

/** Repository-relative path of the request, percent-decoded ('' = repository root). */
function relativePath(req: Request): string {
  // Inside the router mounted at /repo/<provider>/:repo, req.path is what follows the repo name.
  // apt asks for `%7e` and `%3a`, pacman sends `:` raw: decode segment by segment.
  try {
    return req.path.slice(1).split('/').map((seg) => decodeURIComponent(seg)).join('/');
  } catch {
    throw new NotFoundError('malformed percent-encoding in path');
  }
}

function wantsJson(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept.split(',')[0] ?? '');
}

/** Sets res.locals for provider routes: repo (undefined if absent), signer, repoUrl, partitions, files, upload. */
function repoLocals(s: Services, provider: Provider) {
  return asyncRoute(async (req: Request, res: Response, next: NextFunction) => {
    const name = decodeURIComponent(String(req.params.repo));
    // Reads answer the same for missing and unreadable repositories; POST (twine) authorizes itself.
    const repo = req.method === 'POST' ? await s.repos.find(provider.name, name) : await s.repos.authorized(provider.name, name, req.principal, 'read', s.config.PUBLIC_READ);
    const full = repo ? s.publisher.scopeContext(repo).repo : undefined;
    res.locals.repoName = name;
    res.locals.repo = full;
    res.locals.signer = repo ? s.keys.signerFor(repo) : undefined;
    res.locals.repoUrl = repoUrl(s, req, provider.name, name);
    res.locals.partitions = () => (repo ? s.publisher.scopeContext(repo).partitions() : Promise.resolve([]));
    res.locals.files = async (pkg?: string) => (repo ? (await s.packages.listFiles(repo, pkg)).filter((f) => !f.hidden).map(toEntryRow) : []);
    res.locals.upload = (opts: Omit<UploadOptions, 'provider' | 'repoName'>) => handleUpload(s, req, res, { ...opts, provider, repoName: name });
    next();
  });
}

async function resolveAndSend(s: Services, provider: Provider, req: Request, res: Response): Promise<void> {
  const repo = res.locals.repo as import('../core/provider').RepoInfo | undefined;
  if (!repo) throw new NotFoundError(`no ${provider.name} repository named "${res.locals.repoName}"`);
  let path = relativePath(req);
  const view: RequestView = { path, method: req.method, accept: req.headers.accept ?? '', query: Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)])) };
  const rw = provider.rewrite?.(view);
  if (rw && 'redirect' in rw) {
    const qs = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    res.redirect(301, `${req.baseUrl}/${rw.redirect.split('/').map(encodeURIComponent).join('/')}${qs}`);
    return;
  }
  if (rw) {
    path = rw.path;
    if (rw.vary) res.setHeader('Vary', rw.vary);
  }
  const idx = (await s.paths.currentIndexFile(repo.id, path)) ?? (path.includes('/by-hash/') ? await s.paths.historicIndexFile(repo.id, path) : null);
  if (idx) {
    // Index files change between generations: let caches revalidate every time.
    await sendBlob(req, res, s.blobs, { sha256: idx.sha256, size: idx.size, contentType: idx.contentType, lastModified: new Date(idx.createdAt), cacheControl: 'no-cache' }, false);
    return;
  }
  const fallbacks = (p: string) => provider.fallbackPaths?.(p) ?? [];
  for (const candidate of [path, ...fallbacks(path)]) {
    const file = await s.paths.packageFile(repo.id, candidate);
    if (file) {
      await sendBlob(req, res, s.blobs, { sha256: file.sha256, size: file.size, contentType: contentTypeFor(file.filename), lastModified: new Date(file.createdAt), redirectable: true, filename: file.filename, cacheControl: 'public, max-age=31536000, immutable' }, s.config.S3_REDIRECT === 'presigned');
      return;
    }
  }
  const att = await s.paths.attachment(repo.id, path, fallbacks);
  if (att) {
    await sendBlob(req, res, s.blobs, { sha256: att.att.sha256, size: att.att.size, contentType: att.att.contentType, lastModified: new Date(att.file.createdAt) }, false);
    return;
  }
  if (path.endsWith('.sha256')) {
    const base = path.slice(0, -'.sha256'.length);
    for (const candidate of [base, ...fallbacks(base)]) {
      const file = await s.paths.packageFile(repo.id, candidate);
      if (file) {
        // The format `sha256sum -c` reads.
        res.type('text/plain').send(`${file.sha256}  ${file.filename}\n`);
        return;
      }
    }
  }
  if (path === '' && !req.originalUrl.split('?')[0].endsWith('/')) {
    res.redirect(301, `${req.baseUrl}/`);
    return;
  }
  if (path === '' || path.endsWith('/')) {
    const entries = await s.paths.list(repo.id, path);
    if (entries.length === 0 && path !== '') throw new NotFoundError(`/${path} is not in ${provider.name}/${repo.name}`);
    sendListing(req, res, { title: `${provider.name}/${repo.name}/${path}`, entries, json: wantsJson(req), isRoot: path === '' });
    return;
  }
  if ((await s.paths.list(repo.id, path + '/')).length > 0) {
    res.redirect(301, `${req.baseUrl}${req.path}/`);
    return;
  }
  throw new NotFoundError(`${path} is not in ${provider.name}/${repo.name}`);
}

export function repoRouter(s: Services): Router {
  const router = express.Router();
  for (const provider of providers) {
    const sub = express.Router({ mergeParams: true });
    sub.use(repoLocals(s, provider));
    provider.routes?.(sub, { repoUrl: (r) => `${s.config.BASE_URL ?? ''}/repo/${provider.name}/${r.name}` });
    sub.use(asyncRoute(async (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      await resolveAndSend(s, provider, req, res);
    }));
    router.use(`/repo/${provider.name}/:repo`, sub);
  }
  router.use('/repo/:provider', (req, _res, next) => next(new NotFoundError(`unknown provider "${req.params.provider}"; known: ${providers.map((p) => p.name).join(', ')}`)));
  return router;
}
