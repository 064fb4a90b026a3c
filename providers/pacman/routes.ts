/**
 * pacman-specific HTTP paths under /repo/pacman/<repo>/: `GET pubkey`, the repository's
 * armored OpenPGP key for `pacman-key --add` (docs/formats/pacman.md#signatures).
 *
 * The core sets `res.locals.repo` (RepoInfo, or undefined when the repository does not exist)
 * and `res.locals.signer` (RepoSigner) before provider routes run.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { NotFoundError } from '../../src/core/errors';
import type { RepoInfo, RepoSigner } from '../../src/core/provider';

export function pacmanRoutes(router: Router): void {
  router.get('/pubkey', (req: Request, res: Response, next: NextFunction) => {
    const repo = res.locals.repo as RepoInfo | undefined;
    const signer = res.locals.signer as RepoSigner | undefined;
    if (!repo || !signer) {
      next(new NotFoundError(`no pacman repository "${String(req.params.repo ?? '')}"`));
      return;
    }
    signer.openpgp().then(
      (pgp) => {
        res.type('application/pgp-keys').send(pgp.publicKeyArmored);
      },
      (e: unknown) => next(e),
    );
  });
}
