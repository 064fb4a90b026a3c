/**
 * pacman-specific HTTP paths under /repo/pacman/<repo>/: `GET pubkey`, the repository's
 * armored OpenPGP key for `pacman-key --add` (docs/formats/pacman.md#signatures).
 */
import { NotFoundError } from '../../src/core/errors';
import type { ProviderRoute } from '../../src/core/provider';

export const pacmanRoutes: readonly ProviderRoute[] = [
  {
    path: '/pubkey',
    async handler(ctx, _req, res) {
      // A remote serves the upstream's signatures: our key signs nothing there.
      if (ctx.repo.kind === 'remote') throw new NotFoundError(`${ctx.repo.name} is a remote repository: its databases and packages are signed by the upstream; trust the upstream's key`);
      res.type('application/pgp-keys').send((await ctx.signer.openpgp()).publicKeyArmored);
    },
  },
];
