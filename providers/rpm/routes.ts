/**
 * rpm-specific paths under /repo/rpm/<repo>/: the armored public key, and the ready `.repo`
 * files (`<repo>.repo` for the repository root, `<group>/<repo>-<group>.repo` per group) that
 * `dnf config-manager --add-repo <url>` and `zypper addrepo <url>` take as pasted
 * (docs/formats/rpm.md#repo-files). `/repo/rpm/<repo>.repo`, beside the repository, reaches
 * the first one too (Provider.siblingSuffixes).
 */
import { NotFoundError } from '../../src/core/errors';
import type { ProviderRoute, RouteContext } from '../../src/core/provider';
import type { Response } from 'express';
import { isValidGroup, partitionOf } from './layout';
import { repoFile } from './setup';

async function sendRepoFile(ctx: RouteContext, res: Response, file: string, group: string): Promise<void> {
  const expected = group ? `${ctx.repo.name}-${group}.repo` : `${ctx.repo.name}.repo`;
  if (file !== expected) throw new NotFoundError(`${file} is not in rpm/${ctx.repo.name}; the .repo file is ${expected}`);
  if (group && !(await ctx.partitions()).includes(partitionOf(group))) throw new NotFoundError(`rpm/${ctx.repo.name} has no group "${group}"`);
  res.set('Cache-Control', 'no-cache');
  res.type('text/plain; charset=utf-8').send(repoFile(ctx.repo, ctx.repoUrl, group));
}

export const rpmRoutes: readonly ProviderRoute[] = [
  {
    path: '/pubkey',
    async handler(ctx, _req, res) {
      res.type('application/pgp-keys; charset=utf-8').send((await ctx.signer.openpgp()).publicKeyArmored);
    },
  },
  {
    path: '/:file.repo',
    async handler(ctx, req, res) {
      await sendRepoFile(ctx, res, `${String(req.params.file)}.repo`, '');
    },
  },
  {
    path: '/:group/:file.repo',
    async handler(ctx, req, res) {
      const group = String(req.params.group);
      if (!isValidGroup(group)) throw new NotFoundError(`invalid group name "${group}"`);
      await sendRepoFile(ctx, res, `${String(req.params.file)}.repo`, group);
    },
  },
];
