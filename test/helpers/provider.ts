/**
 * Running a provider the way the core's upload does, without a server: `parse`, then
 * `renderEntry` from the stored-form index data (src/core/entry-renderer.ts), and mounting
 * a provider's own routes on a bare Express router for unit tests of its handlers.
 */
import express, { type Router } from 'express';
import { renderUpload } from '../../src/core/entry-renderer';
import type { Attachment, ParsedPackage, Provider, RepoSigner, RouteContext, UploadInput } from '../../src/core/provider';

/** An upload input with the repository keys the renderer signs with (pacman). */
export interface TestUpload extends UploadInput {
  signer: RepoSigner;
}

export type RenderedPackage = ParsedPackage & { entry: string; attachments: Attachment[] };

/** parse + renderEntry: the package as it would be stored, with its entry and every side file. */
export async function parseRendered(provider: Provider, input: TestUpload): Promise<RenderedPackage> {
  const { signer, ...upload } = input;
  const parsed = await provider.parse(upload);
  const { entry, attachments } = await renderUpload(provider, parsed, input.file, input.repo, signer);
  return { ...parsed, entry, attachments };
}

/**
 * A router with the provider's routes, each handler given the context `contextFor` builds
 * (null: the repository does not exist, so 404 as the core answers).
 */
export function providerRoutes(provider: Provider, contextFor: (repoName: string) => RouteContext | null): Router {
  const sub = express.Router({ mergeParams: true });
  for (const route of provider.routes ?? []) {
    sub.get(route.path, async (req, res) => {
      const ctx = contextFor(String(req.params.repo));
      if (!ctx) {
        const { NotFoundError } = await import('../../src/core/errors');
        throw new NotFoundError(`no ${provider.name} repository named "${String(req.params.repo)}"`);
      }
      await route.handler(ctx, req, res);
    });
  }
  return sub;
}

/** A route context for unit tests: the given repository and keys, URLs under `base`. */
export function testRouteContext(opts: { repo: RouteContext['repo']; signer: RepoSigner; base: string; partitions?: string[] }): RouteContext {
  const repoUrl = `${opts.base}/repo/${opts.repo.provider}/${opts.repo.name}`;
  return {
    repo: opts.repo,
    signer: opts.signer,
    repoUrl,
    baseUrl: opts.base,
    partitions: async () => opts.partitions ?? [],
    packageFiles: async () => [],
    canWrite: false,
  };
}
