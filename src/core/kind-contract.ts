/**
 * What a provider says about remote (pull-through cache) and virtual (merged) repositories of
 * its format (issue 14). Kinds are core concepts: the core fetches, caches, locks, counts,
 * verifies hashes and merges members in order; a provider only says which request paths are
 * index files and which are package files, how an upstream index is served here (byte for
 * byte, or rewritten to this server's URLs) and what it names, and how members' pages merge.
 */

/** hosted: filled by uploads; remote: a cache of an upstream; virtual: members behind one URL. */
export type RepoKind = 'hosted' | 'remote' | 'virtual';
export const REPO_KINDS: readonly RepoKind[] = ['hosted', 'remote', 'virtual'];

export interface RemoteContext {
  /** The upstream URL as configured (pypi `https://pypi.org/simple/`, pacman with `$repo`/`$arch`). */
  upstream: string;
  /** The remote repository's own name (pages link to `/repo/<provider>/<name>/...`). */
  repoName: string;
}

export type RemoteTarget =
  /**
   * An index file: fetched from `url` with `accept`, trusted for the repository's `metadataTtl`,
   * then fetched again (served stale when the upstream is down). `source` names the fetch:
   * one upstream page may be served at several paths (PyPI's HTML and JSON), all from one fetch.
   */
  | { kind: 'index'; source: string; url: string; accept?: string; companions?: RemoteCompanion[] }
  /**
   * A package file: immutable, fetched once and kept. When a cached index named this path (a
   * link, see TransformedIndex) its URL and sha256 come from there; otherwise from `url`
   * (null: only reachable through a link, e.g. PyPI files whose upstream URLs are arbitrary).
   */
  | { kind: 'package'; url: string | null };

/**
 * A file fetched right after an index, in the same refresh, and replaced together with it: a
 * detached signature (pacman's `<repo>.db.sig`) must always be served next to the very bytes
 * it signs, which two independently refreshed fetches cannot promise. Served as fetched; one
 * the upstream lacks (404/410) is simply not served.
 */
export interface RemoteCompanion {
  /**
   * Repository-relative path it is served at. Its own target names the same index (same
   * `source`, `url` and companions), and `source` is then the path of the file it accompanies.
   */
  path: string;
  url: string;
}

export interface FetchedIndex {
  /** The request path it was fetched for, and the fetch's `source`. */
  path: string;
  source: string;
  /** Where the bytes came from after redirects (relative links resolve against it). */
  url: string;
  contentType: string;
  body: Buffer;
}

export interface ServedIndexFile {
  path: string;
  data: Buffer;
  contentType: string;
}

export interface RemoteLink {
  /** Repository-relative path a client will ask for. */
  path: string;
  /** Absolute upstream URL of its bytes. */
  url: string;
  /** Lowercase hex sha256 the bytes must have, when the index says. */
  sha256?: string | null;
}

export interface TransformedIndex {
  /** What is served for this fetch (each replaces the path's previous bytes together). */
  files: ServedIndexFile[];
  /** Package files (and indexes fetched by hash) this index names. */
  links: RemoteLink[];
}

export interface RemoteSupport {
  /** What upstream URL a remote repository may have; throw an Error whose message says what is wrong. */
  checkUpstream?(url: string): void;
  /** A (rewritten) request path -> what it is upstream; null: nothing a remote of this format serves. */
  target(path: string, ctx: RemoteContext): RemoteTarget | null;
  /** An upstream index -> what is served for it and what it names. Default: the bytes as fetched, at `path`, no links. */
  transformIndex?(fetched: FetchedIndex, ctx: RemoteContext): TransformedIndex | Promise<TransformedIndex>;
}

export interface MemberPart {
  /** The member repository's name, and whether it is hosted (not remote). */
  repo: string;
  hosted: boolean;
  data: Buffer;
}

/**
 * PyPI's virtual: paths the provider marks are merged per request from the members' pages
 * (remote members allowed), every other path is answered by the first member that has it.
 */
export interface RequestMergedVirtual {
  mergeBy: 'request';
  /** Whether a virtual repository of this format may list remote members. */
  remoteMembers: boolean;
  /**
   * Whether a (rewritten) path is answered by merging the members: `read` is the member path
   * whose bytes `merge` gets; `shadow`: a hosted member that has it hides every remote member
   * (dependency-confusion safety, unless the virtual's `mergeRemoteProjects` is on). null: the
   * first member (in order) that serves the path answers.
   */
  merged(path: string): { read: string; shadow: boolean } | null;
  /** The members' bytes at `read`, in member order (only members that have it) -> the answer at `path`. */
  merge(path: string, parts: MemberPart[]): ServedIndexFile;
}

/**
 * apt, pacman, apk, rpm (signed indexes): the virtual repository publishes its own index
 * generations, like a hosted one, signed with its own repository key. The core builds each
 * scope with the provider's unchanged `buildIndex`, whose `entries()` are the hosted members'
 * stored entries in member order, deduplicated: a row whose path, or whose name+version+arch in
 * the same partition, an earlier member already has is left out (first member wins).
 * `partitions()` is the union of the members'. A member's publish marks the same scopes of
 * every virtual listing it, in the same transaction (src/core/virtual-indexes.ts), so the
 * publisher's sweep finishes them after a crash. Package files are served from the first
 * member that has the path. For a format whose entries carry a repository-key signature
 * (`capabilities.entriesSignedByRepoKey`, pacman) the core renders the members' entries again
 * with `renderEntry` and the virtual's signer; side files that makes (`.sig`) are published in
 * the virtual's generations and reused by its later builds. Clients of these formats list several sources natively, so
 * remote members are refused.
 */
export interface EntryMergedVirtual {
  mergeBy: 'entries';
  remoteMembers: false;
}

/** How a format's virtual repositories merge their members (the contract changed in issue 14: `mergeBy`). */
export type VirtualSupport = RequestMergedVirtual | EntryMergedVirtual;

/** Whether virtual repositories of this format publish their own merged, signed indexes. */
export function mergesEntries(v: VirtualSupport | undefined): v is EntryMergedVirtual {
  return v?.mergeBy === 'entries';
}
