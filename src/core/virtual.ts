/**
 * Virtual repositories: members (hosted or remote) behind one URL, in order. Paths the
 * provider marks as merged (PyPI project pages and the project list) are built per request
 * from the members' pages; any other path is answered by the first member that serves it.
 *
 * Dependency confusion: for a path marked `shadow` (a PyPI project page), when any hosted
 * member has it, remote members are not consulted at all, so a public project of the same
 * name can never add files to a private one; `mergeRemoteProjects: true` merges them anyway.
 *
 * A virtual repository shows its members' contents to whoever may read the virtual one (as
 * Nexus groups and Artifactory virtuals do): make the virtual private if a member is.
 */
import { DomainError, NotFoundError } from './errors';
import type { MemberPart } from './kind-contract';
import type { Provider, RepoInfo } from './provider';
import { remoteService } from './remote/remote-service';
import type { Services } from '../services';
import { blobKey } from '../storage/blob-store';
import { loadKindConfig } from './kinds';

export interface MergedAnswer {
  data: Buffer;
  contentType: string;
}

/** The members of a virtual repository that exist, in order. */
export async function membersOf(s: Services, repo: RepoInfo): Promise<RepoInfo[]> {
  const out: RepoInfo[] = [];
  for (const name of repo.members ?? []) {
    const m = await s.repos.find(repo.provider, name);
    if (m && m.kind !== 'virtual') out.push(s.publisher.scopeContext(m).repo);
  }
  return out;
}

async function hostedBytes(s: Services, member: RepoInfo, path: string): Promise<Buffer | null> {
  const idx = await s.paths.currentIndexFile(member.id, path);
  if (!idx) return null;
  const chunks: Buffer[] = [];
  for await (const c of await s.blobs.get(blobKey(idx.sha256))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The merged answer at `path`, or null when the provider does not merge this path. */
export async function mergedAnswer(s: Services, provider: Provider, repo: RepoInfo, path: string): Promise<MergedAnswer | null> {
  const virtual = provider.virtual;
  if (virtual?.mergeBy !== 'request') return null;
  const spec = virtual.merged(path);
  if (!spec) return null;
  const members = await membersOf(s, repo);
  const mergeRemote = (await loadKindConfig(s.db.manager, repo.id, s.config.MASTER_KEY)).remote.mergeRemoteProjects;
  const hostedParts = new Map<number, Buffer>();
  for (const m of members) {
    if (m.kind === 'remote') continue;
    const data = await hostedBytes(s, m, spec.read);
    if (data) hostedParts.set(m.id, data);
  }
  // Dependency-confusion safety: a hosted member's project hides every upstream's.
  const consultRemotes = !spec.shadow || hostedParts.size === 0 || mergeRemote;
  const parts: MemberPart[] = [];
  const failures: DomainError[] = [];
  for (const m of members) {
    if (m.kind !== 'remote') {
      const data = hostedParts.get(m.id);
      if (data) parts.push({ repo: m.name, hosted: true, data });
      continue;
    }
    if (!consultRemotes) continue;
    try {
      const data = await remoteService(s).indexBytes(provider, m, spec.read);
      if (data) parts.push({ repo: m.name, hosted: false, data });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      // One upstream down must not take the hosted members' packages with it.
      s.log.warn('virtual: a remote member failed', { repo: `${repo.provider}/${repo.name}`, member: m.name, path, error: e.message });
      failures.push(e);
    }
  }
  if (parts.length === 0) {
    if (failures.length) throw failures[0];
    throw new NotFoundError(`${path} is in none of the members of ${repo.provider}/${repo.name} (${members.map((m) => m.name).join(', ') || 'no members'})`);
  }
  const out = virtual.merge(path, parts);
  return { data: out.data, contentType: out.contentType };
}
