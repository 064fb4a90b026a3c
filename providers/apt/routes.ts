/**
 * apt-specific paths under /repo/apt/:repo/: the installer script and the public key in
 * both forms apt can use with signed-by (formats.md B.6).
 *
 * Relies on the core having set, before this router runs:
 *   res.locals.repo (RepoInfo, undefined when the repository does not exist),
 *   res.locals.signer (RepoSigner), res.locals.repoUrl (string),
 *   res.locals.partitions (() => Promise<string[]>).
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { NotFoundError } from '../../src/core/errors';
import type { RepoInfo, RepoSigner } from '../../src/core/provider';
import { isValidSegment } from './params';
import { componentsOf, installScript } from './setup';

interface AptLocals {
  repo: RepoInfo;
  signer: RepoSigner;
  repoUrl: string;
  partitions: () => Promise<string[]>;
}

function locals(res: Response): AptLocals | null {
  const l = res.locals as Partial<AptLocals>;
  return l.repo ? (l as AptLocals) : null;
}

type Handler = (req: Request, res: Response, l: AptLocals) => Promise<void>;

/** Resolve the repository (404 when missing) and forward failures to the error middleware. */
function handle(fn: Handler) {
  return (req: Request, res: Response, next: NextFunction) => {
    const l = locals(res);
    if (!l) {
      next(new NotFoundError('no such apt repository'));
      return;
    }
    fn(req, res, l).catch(next);
  };
}

/**
 * apt revalidates its lists with If-Modified-Since only (never If-None-Match), and an HTTP
 * date has a resolution of one second. Two generations published within the same second
 * share a Last-Modified, so a client that fetched the first one would get 304 for the
 * second and keep a stale InRelease until the next publish in a later second (seen with
 * real apt-get: a 201 upload followed by `apt-get update` printing "Hit" and the old
 * candidate). So the mutable files under dists/ are always sent in full; by-hash files
 * are content-addressed (a path never changes its bytes) and keep their 304s. The full
 * InRelease costs a few KiB per update; apt then fetches only the Packages files whose
 * hashes changed. Range/If-Range go too: If-Range with a date has the same ambiguity,
 * and a resumed download spliced from two generations would fail apt's hash check.
 */
export function ignoreDateRevalidation(req: Request, _res: Response, next: NextFunction): void {
  if ((req.method === 'GET' || req.method === 'HEAD') && !req.path.includes('/by-hash/')) {
    delete req.headers['if-modified-since'];
    delete req.headers['if-range'];
    delete req.headers.range;
  }
  next();
}

export function aptRoutes(router: Router): void {
  router.use('/dists', ignoreDateRevalidation);
  router.get(
    '/dists/:dist/install',
    handle(async (req, res, l) => {
      const dist = String(req.params.dist);
      if (!isValidSegment(dist)) throw new NotFoundError(`invalid distribution name "${dist}"`);
      const components = componentsOf(await l.partitions(), dist);
      res.set('Cache-Control', 'no-cache');
      res.type('text/x-shellscript; charset=utf-8').send(installScript(l.repo.name, l.repoUrl, dist, components));
    }),
  );
  router.get(
    '/pubkey',
    handle(async (_req, res, l) => {
      const pgp = await l.signer.openpgp();
      res.type('application/pgp-keys; charset=utf-8').send(pgp.publicKeyArmored);
    }),
  );
  router.get(
    '/keyring.gpg',
    handle(async (_req, res, l) => {
      const pgp = await l.signer.openpgp();
      res.type('application/pgp-keys').send(pgp.publicKeyBinary);
    }),
  );
}
