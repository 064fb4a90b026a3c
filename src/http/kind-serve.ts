/**
 * GET/HEAD of remote and virtual repositories, after the provider's rewrite: the remote cache
 * (src/core/remote/remote-service.ts) or the virtual merge (src/core/virtual.ts). Hosted
 * repositories never come here.
 */
import type { Request, Response } from 'express';
import { NotFoundError } from '../core/errors';
import { mergesEntries } from '../core/kind-contract';
import type { Provider, RepoInfo } from '../core/provider';
import { remoteService } from '../core/remote/remote-service';
import { membersOf, mergedAnswer } from '../core/virtual';
import type { Services } from '../services';

/** True when the request was answered here; hosted repositories return false at once. */
export async function serveKind(
  s: Services,
  provider: Provider,
  repo: RepoInfo,
  path: string,
  req: Request,
  res: Response,
  serveMember: (member: RepoInfo) => Promise<void>,
): Promise<boolean> {
  if (repo.kind === 'remote') {
    if (await remoteService(s).serve(provider, repo, path, req, res)) return true;
    throw new NotFoundError(`${path || '/'} is not in ${provider.name}/${repo.name} (a remote repository serves what its upstream's indexes name)`);
  }
  // A merging virtual (apt, pacman, apk, rpm) serves its own index generations like a hosted
  // repository, and its members' package files (repo-router.ts, Publisher.packageRepoIds).
  if (repo.kind !== 'virtual' || mergesEntries(provider.virtual)) return false;
  const merged = await mergedAnswer(s, provider, repo, path);
  if (merged) {
    res.setHeader('Content-Type', merged.contentType);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Length', String(merged.data.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : merged.data);
    return true;
  }
  // Not a merged path: the first member (in order) that has it answers.
  for (const member of await membersOf(s, repo)) {
    try {
      await serveMember(member);
      return true;
    } catch (e) {
      if (!(e instanceof NotFoundError) || res.headersSent) throw e;
    }
  }
  throw new NotFoundError(`${path || '/'} is in none of the members of ${provider.name}/${repo.name}`);
}
