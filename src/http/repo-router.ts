/**
 * Everything under /repo/<provider>/<repo>/: provider routes first, then one generic
 * resolution for GET/HEAD: index file of the current generation -> historic index file
 * (apt by-hash) -> package file (and provider fallbacks) -> attachment (`.sig`,
 * `.metadata`) -> `<file>.sha256` checksum line -> directory listing.
 */
import express, { type Request, type Response, type Router } from 'express';
import { NotFoundError } from '../core/errors';
import type { Provider, ProviderRoute, RepoInfo, RequestView, RouteContext } from '../core/provider';
import { providers } from '../core/provider-registry';
import { RepoService } from '../core/repo-service';
import { TokenService } from '../core/tokens';
import type { Services } from '../services';
import { contentTypeFor } from './content-types';
import { sendListing } from './listing';
import { countDownload } from './ops-middleware';
import { sendBlob } from './send-blob';
import { handleUpload } from './upload-handler';
import { serveKind } from './kind-serve';
import { isEntryMergedVirtual } from '../core/virtual-indexes';
import { baseUrl, repoUrl } from './urls';

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

function repoNameOf(req: Request): string {
  return String(req.params.repo);
}

/**
 * The repository named in the URL, with its effective settings, once read access is checked;
 * 404 when it does not exist. Looked up once per request however many handlers ask.
 */
function repoResolver(s: Services, provider: Provider) {
  const cache = new WeakMap<Request, Promise<RepoInfo>>();
  const resolve = async (req: Request): Promise<RepoInfo> => {
    const name = repoNameOf(req);
    // A missing repository and one the reader may not read answer alike (RepoService.authorized);
    // the row comes from memory (src/core/read-cache.ts), the check runs for every request.
    const repo = RepoService.readable(await s.reads.repo(provider.name, name), provider.name, name, req.principal, s.config.PUBLIC_READ);
    return s.publisher.scopeContext(repo).repo;
  };
  return (req: Request): Promise<RepoInfo> => {
    let p = cache.get(req);
    if (!p) cache.set(req, (p = resolve(req)));
    return p;
  };
}

/** The one object a provider route gets (see RouteContext in src/core/provider.ts). */
async function routeContext(s: Services, provider: Provider, req: Request, repo: RepoInfo): Promise<RouteContext> {
  return {
    repo,
    signer: s.keys.signerFor(repo),
    repoUrl: repoUrl(s, req, provider.name, repo.name),
    baseUrl: baseUrl(s, req),
    partitions: () => s.publisher.scopeContext(repo).partitions(),
    packageFiles: async (name) => (await s.catalog.filesOf(repo, name)).filter((f) => !f.hidden).map((f) => ({ name: f.name, version: f.version, arch: f.arch, filename: f.filename, path: f.path })),
    canWrite: TokenService.allows(req.principal, 'write', repo.name),
  };
}

type OnSocket = { socket: object };

/**
 * Provider.indexPartners: after a file is served on a connection, its partners (a detached
 * signature, or the file it signs) are served from the same generation on that connection for
 * a few seconds. Clients fetch the pair back to back on one keep-alive connection (libcurl in
 * pacman and librepo, zypper): a publish in between can no longer pair a file with another
 * generation's signature. A client that opens a new connection for the second file keeps
 * that (sub-second) window; the README says so.
 */
class GenerationPins {
  private readonly bySocket = new WeakMap<object, Map<string, { generationId: number; until: number }>>();
  static readonly SECONDS = 10;

  /** The pinned generation, without using the pin up (the fast path takes it only when it answers). */
  peek(req: OnSocket, repoId: number, path: string): number | undefined {
    const pin = this.bySocket.get(req.socket)?.get(`${repoId}\u0000${path}`);
    return pin && pin.until > Date.now() ? pin.generationId : undefined;
  }

  take(req: OnSocket, repoId: number, path: string): number | undefined {
    const pins = this.bySocket.get(req.socket);
    const key = `${repoId}\u0000${path}`;
    const pin = pins?.get(key);
    if (!pin) return undefined;
    pins!.delete(key);
    return pin.until > Date.now() ? pin.generationId : undefined;
  }

  pin(req: OnSocket, repoId: number, paths: string[], generationId: number): void {
    if (paths.length === 0) return;
    let pins = this.bySocket.get(req.socket);
    if (!pins) this.bySocket.set(req.socket, (pins = new Map()));
    for (const p of paths) pins.set(`${repoId}\u0000${p}`, { generationId, until: Date.now() + GenerationPins.SECONDS * 1000 });
  }
}

/** Shared with the fast path (src/http/fast-path.ts): one connection, one set of pins. */
export const pins = new GenerationPins();

async function resolveAndSend(s: Services, provider: Provider, repo: RepoInfo, req: Request, res: Response): Promise<void> {
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
  // Remote and virtual repositories (issue 14): the cache or the members answer.
  if (await serveKind(s, provider, repo, path, req, res, (member) => resolveAndSend(s, provider, member, req, res))) return;
  const pinned = pins.take(req, repo.id, path);
  const fromPin = pinned === undefined ? null : await s.reads.indexFileOfGeneration(repo.id, pinned, path);
  const idx = fromPin ?? (await s.reads.currentIndexFile(repo.id, path)) ?? (path.includes('/by-hash/') ? await s.reads.historicIndexFile(repo.id, path) : null);
  if (idx) {
    // Only a fresh answer pins: a pinned one must not keep the connection on an old generation.
    if (!fromPin && idx.generationId) pins.pin(req, repo.id, provider.indexPartners?.(path) ?? [], idx.generationId);
    // Index files change between generations: let caches revalidate every time.
    await sendBlob(req, res, s.blobs, { sha256: idx.sha256, size: idx.size, contentType: idx.contentType, lastModified: new Date(idx.createdAt), cacheControl: 'no-cache' }, false, s.bodies);
    return;
  }
  const fallbacks = (p: string) => provider.fallbackPaths?.(p) ?? [];
  // The repository itself, or a merging virtual's hosted members in order: the first member
  // with a path is the one whose entry the virtual's index lists (src/core/virtual-indexes.ts).
  const sources = await s.publisher.packageRepoIds(repo);
  const packageFile = async (p: string) => {
    for (const id of sources) {
      const file = await s.reads.packageFile(id, p);
      if (file) return file;
    }
    return null;
  };
  // A virtual's own side files (pacman `.sig` of repository-signed packages) are index files:
  // an `any/` package's is also asked for under `$arch/`.
  if (isEntryMergedVirtual(repo)) {
    for (const candidate of fallbacks(path)) {
      const side = await s.paths.currentIndexFile(repo.id, candidate);
      if (side) {
        await sendBlob(req, res, s.blobs, { sha256: side.sha256, size: side.size, contentType: side.contentType, lastModified: new Date(side.createdAt), cacheControl: 'no-cache' }, false);
        return;
      }
    }
  }
  for (const candidate of [path, ...fallbacks(path)]) {
    const file = await packageFile(candidate);
    if (file) {
      await sendBlob(req, res, s.blobs, { sha256: file.sha256, size: file.size, contentType: contentTypeFor(provider, file.filename), lastModified: new Date(file.createdAt), redirectable: true, filename: file.filename, cacheControl: 'public, max-age=31536000, immutable' }, s.config.S3_REDIRECT === 'presigned', s.bodies);
      countDownload(s, req, res, provider.name, file);
      return;
    }
  }
  let att: Awaited<ReturnType<typeof s.paths.attachment>> = null;
  for (const id of sources) if ((att = await s.paths.attachment(id, path, fallbacks, (p) => s.reads.packageFile(id, p)))) break;
  if (att) {
    await sendBlob(req, res, s.blobs, { sha256: att.att.sha256, size: att.att.size, contentType: att.att.contentType, lastModified: new Date(att.file.createdAt) }, false, s.bodies);
    return;
  }
  if (path.endsWith('.sha256')) {
    const base = path.slice(0, -'.sha256'.length);
    for (const candidate of [base, ...fallbacks(base)]) {
      const file = await packageFile(candidate);
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
    const entries = await s.paths.list(repo.id, path, sources);
    if (entries.length === 0 && path !== '') throw new NotFoundError(`/${path} is not in ${provider.name}/${repo.name}`);
    sendListing(req, res, { title: `${provider.name}/${repo.name}/${path}`, entries, json: wantsJson(req), isRoot: path === '' });
    return;
  }
  if ((await s.paths.list(repo.id, path + '/', sources)).length > 0) {
    res.redirect(301, `${req.baseUrl}${req.path}/`);
    return;
  }
  throw new NotFoundError(`${path} is not in ${provider.name}/${repo.name}`);
}

/**
 * Mounts one provider's routes, upload endpoints and the generic lookup on `router` (mounted
 * at /repo/<provider>/:repo). Express 5 forwards a rejected handler promise to the error
 * middleware, so handlers just throw.
 */
export function providerRouter(s: Services, provider: Provider): Router {
  const sub = express.Router({ mergeParams: true });
  const repoOf = repoResolver(s, provider);
  for (const endpoint of provider.uploadEndpoints ?? []) {
    for (const p of endpoint.paths) {
      sub.post(p, (req, res) => handleUpload(s, req, res, { fileField: endpoint.fileField, provider, repoName: repoNameOf(req), verify: endpoint.verify, params: endpoint.params }));
    }
  }
  const mount = (route: ProviderRoute) =>
    sub.get(route.path, async (req, res) => {
      const repo = await repoOf(req);
      await route.handler(await routeContext(s, provider, req, repo), req, res);
    });
  for (const route of provider.routes ?? []) mount(route);
  sub.use(async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    await resolveAndSend(s, provider, await repoOf(req), req, res);
  });
  return sub;
}

export function repoRouter(s: Services): Router {
  const router = express.Router();
  for (const provider of providers) {
    for (const suffix of provider.siblingSuffixes ?? []) {
      // `/repo/<provider>/<repo><suffix>` -> `/repo/<provider>/<repo>/<repo><suffix>`, unless a repository has that very name.
      router.get(`/repo/${provider.name}/:file`, async (req, _res, next) => {
        const file = String(req.params.file);
        if (file.endsWith(suffix) && file.length > suffix.length && !(await s.repos.find(provider.name, file))) {
          const repo = file.slice(0, -suffix.length);
          req.url = `/repo/${provider.name}/${encodeURIComponent(repo)}/${encodeURIComponent(file)}`;
        }
        next();
      });
    }
    router.use(`/repo/${provider.name}/:repo`, providerRouter(s, provider));
  }
  router.use('/repo/:provider', (req, _res, next) => next(new NotFoundError(`unknown provider "${req.params.provider}"; known: ${providers.map((p) => p.name).join(', ')}`)));
  return router;
}
