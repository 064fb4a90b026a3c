/**
 * pacman-specific HTTP paths under /repo/pacman/<repo>/: `GET pubkey`, the repository's
 * armored OpenPGP key for `pacman-key --add` (docs/formats/pacman.md#signatures).
 */
import type { ProviderRoute } from '../../src/core/provider';

export const pacmanRoutes: readonly ProviderRoute[] = [
  {
    path: '/pubkey',
    async handler(ctx, _req, res) {
      res.type('application/pgp-keys').send((await ctx.signer.openpgp()).publicKeyArmored);
    },
  },
];
