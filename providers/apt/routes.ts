/**
 * apt-specific paths under /repo/apt/<repo>/: the installer script and the public key in
 * both forms apt can use with `signed-by` (docs/formats/apt.md#signatures-and-keyrings): armored (`.asc`) and
 * binary OpenPGP packets (`.gpg`, what `gpg --export` writes).
 *
 * Revalidation needs nothing special here: apt asks with If-Modified-Since only, and the
 * publisher makes each generation of a dist at least one second younger than the previous
 * (src/core/publisher.ts), so Last-Modified always moves forward and a 304 is never stale.
 */
import { NotFoundError } from '../../src/core/errors';
import type { ProviderRoute } from '../../src/core/provider';
import { isValidSegment } from './params';
import { componentsOf, installScript } from './setup';

export const aptRoutes: readonly ProviderRoute[] = [
  {
    path: '/dists/:dist/install',
    async handler(ctx, req, res) {
      const dist = String(req.params.dist);
      if (!isValidSegment(dist)) throw new NotFoundError(`invalid distribution name "${dist}"`);
      const components = componentsOf(await ctx.partitions(), dist);
      res.set('Cache-Control', 'no-cache');
      res.type('text/x-shellscript; charset=utf-8').send(installScript(ctx.repo.name, ctx.repoUrl, dist, components));
    },
  },
  {
    path: '/pubkey',
    async handler(ctx, _req, res) {
      res.type('application/pgp-keys; charset=utf-8').send((await ctx.signer.openpgp()).publicKeyArmored);
    },
  },
  {
    path: '/keyring.gpg',
    async handler(ctx, _req, res) {
      res.type('application/pgp-keys').send((await ctx.signer.openpgp()).publicKeyBinary);
    },
  },
];
