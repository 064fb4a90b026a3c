/**
 * The one interface every repository format implements. The core (upload, storage,
 * publishing, HTTP plumbing) knows nothing of any format; a provider knows nothing of
 * HTTP plumbing, storage, the database or locks. Adding a format = one folder under
 * providers/ plus one line in src/core/provider-registry.ts; the README's "Adding a format"
 * lists the files.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { RemoteSupport, RepoKind, VirtualSupport } from './kind-contract';
import type { DigestAlgorithm } from '../util/digest-types';
import type { PublishContext, ScopeContext } from './publish-context';

export type { DigestAlgorithm } from '../util/digest-types';

/**
 * A package file's digests: sha256 always (the blob key, the ETag, the API's checksum), the
 * others when the provider's index needs them (`Provider.digests`). Rows stored before
 * `digests` existed may carry all four.
 */
export interface FileHashes {
  sha256: string;
  sha512?: string;
  sha1?: string;
  md5?: string;
}

/** An upload already streamed to a local temporary file and hashed (sha256, and by the time `parse` runs every digest the provider declares). */
export interface UploadedFile {
  /** Complete file on local disk. Read it with streams; never load it whole. */
  localPath: string;
  /** The multipart file name, already checked (no '/', '\\', NUL, control characters, <= 255 bytes). May be ''. */
  clientFilename: string;
  size: number;
  hashes: FileHashes;
}

export interface RepoInfo {
  id: number;
  provider: string;
  name: string;
  /** Free-form per-repository settings (JSON), e.g. `{ "arches": ["x86_64"], "keep": 3 }`. */
  settings: Record<string, unknown>;
  /** Absent for rows read before kinds existed: hosted (src/core/kind-contract.ts). */
  kind?: RepoKind;
  /** Member names in order (virtual only). */
  members?: string[];
}

export interface UploadInput {
  file: UploadedFile;
  /** Further multipart files by field name, e.g. pacman's detached `sig`. */
  extraFiles: Record<string, UploadedFile>;
  /** Provider parameters, already validated and defaulted by `uploadParams`. */
  params: Record<string, string>;
  repo: RepoInfo;
}

/** A small side file stored with a package, served at `<package path><suffix>` (e.g. '.sig', '.metadata'). */
export interface Attachment {
  suffix: string;
  data: Buffer;
  contentType: string;
}

/** Display metadata kept as JSON with each package file (UI, API, search). */
export interface PackageMeta {
  description?: string;
  license?: string | string[];
  url?: string;
  /** Names of packages this one depends on (bare names, for links in the UI). */
  depends?: string[];
  [key: string]: unknown;
}

export interface ParsedPackage {
  name: string;
  version: string;
  /** '' for formats without architectures. */
  arch: string;
  /** The name a client downloads the file as. */
  filename: string;
  /**
   * Repository-relative path the file is served at, e.g. `pool/main/h/hello/hello_1.0_amd64.deb`.
   * Within one repository a path always names the same bytes (the core enforces this).
   */
  path: string;
  /** Provider-defined grouping used when publishing (apt `bionic/main`, pacman `x86_64`, pypi project name, ...). */
  partition: string;
  meta: PackageMeta;
  /**
   * Everything `renderEntry` needs beyond the file's name, path, size and hashes (apt's control
   * fields, pacman's .PKGINFO and file list, ...), stored with the file as JSON so that entries
   * can be rendered again later (`reindex`) without the package being uploaded again. Must
   * survive JSON.stringify/parse unchanged (plain objects, arrays, strings, numbers).
   */
  indexData: unknown;
  /** Side files read from the upload (pacman's packager `.sig`, PyPI's `.metadata`). */
  attachments: Attachment[];
}

/** A stored package file as `renderEntry` sees it: at upload right after `parse`, and at every reindex. */
export interface StoredPackage extends Pick<ParsedPackage, 'name' | 'version' | 'arch' | 'filename' | 'path' | 'partition'> {
  size: number;
  hashes: FileHashes;
  /** What `parse` returned as `indexData`, read back from its stored JSON. */
  indexData: unknown;
}

export interface RenderContext {
  repo: RepoInfo;
  signer: RepoSigner;
  /** The stored side file with this suffix (upload: what `parse` returned; reindex: the stored blob), or null. */
  attachment(suffix: string): Promise<Buffer | null>;
  /** A local path holding the package file's bytes (only formats that sign packages need it; may download). */
  localFile(): Promise<string>;
}

export interface RenderedEntry {
  /** The package's entry in its index (apt stanza, pacman desc+files, APKINDEX record, PEP 691 file JSON). */
  entry: string;
  /** Side files made while rendering (pacman's repository-key `.sig`); they replace stored ones of the same suffix. */
  attachments?: Attachment[];
}

/** A stored package file as the publisher sees it. */
export interface EntryRow {
  id: number;
  name: string;
  version: string;
  arch: string;
  filename: string;
  path: string;
  partition: string;
  entry: string;
  meta: PackageMeta;
  size: number;
  hashes: FileHashes;
  createdAt: Date;
  /** PEP 592: null = not yanked, '' = yanked without a reason, else the reason. */
  yanked: string | null;
}

/** One file of a published index generation. Stored once as an immutable blob and served byte for byte. */
export interface IndexFile {
  path: string;
  data: Buffer;
  contentType: string;
  /** Also served from the retained older generations (apt by-hash files). */
  historic?: boolean;
}

export interface OpenPgpSigner {
  fingerprint: string;
  /** ASCII-armored public key. */
  publicKeyArmored: string;
  /** Raw OpenPGP packets (what `gpg --export` writes), for apt `signed-by` keyrings. */
  publicKeyBinary: Buffer;
  /** Cleartext-signed message (apt InRelease), SHA-256+ digest. */
  clearsign(text: string): Promise<string>;
  /** Detached signature over `data`; binary unless armored (apt Release.gpg, pacman .sig). */
  detachSign(data: Buffer, armored: boolean): Promise<Buffer>;
  /** Binary detached signature over a file's bytes, streamed (package files can be GBs). */
  detachSignFile(localPath: string): Promise<Buffer>;
}

export interface RsaSigner {
  /** File name clients keep the public key under (apk: /etc/apk/keys/<keyName>). */
  keyName: string;
  publicKeyPem: string;
  /** RSA PKCS#1 v1.5 signature over the digest of `data`. */
  sign(data: Buffer, digest: 'sha1' | 'sha256' | 'sha512'): Buffer;
}

/** Per-repository signing keys; created on first use, private parts never leave the server. */
export interface RepoSigner {
  openpgp(): Promise<OpenPgpSigner>;
  /** Active RSA keys, oldest first (two during a rotation: sign with both). */
  rsa(): Promise<RsaSigner[]>;
}

// What a build and scopesFor are given: src/core/publish-context.ts.
export type { EntryKey, KeyedEntries, PublishContext, ScopeContext } from './publish-context';

export interface SetupContext {
  repo: RepoInfo;
  /** Absolute URL of the repository root, `<BASE_URL>/repo/<provider>/<repo>` (no trailing slash). */
  repoUrl: string;
  baseUrl: string;
  signer: RepoSigner;
  partitions: string[];
}

/** What `installCommand` gets: where the repository is served. */
export interface InstallContext {
  repo: RepoInfo;
  /** Absolute URL of the repository root (no trailing slash). */
  repoUrl: string;
  baseUrl: string;
}

/** One stored package file, as the UI's package page names it. */
export interface InstallTarget {
  name: string;
  version: string;
  arch: string;
  filename: string;
  /** Repository-relative path of the file. */
  path: string;
  /** Whether this is the package's newest version (pacman's `-S` installs only that one). */
  newest: boolean;
}

/** What a package page shows beyond the display metadata, read from the stored `indexData`. */
export interface PackageDetails {
  /** The long description, where the format stores one (apt's extended Description). */
  longDescription?: string;
  /** Paths inside the package, where the format's index stores them (pacman's files list); absent: the format keeps none. */
  files?: string[];
}

export interface SetupSnippet {
  title: string;
  /** Language hint for the UI (`shell`, `ini`, `toml`, ...). */
  language: string;
  code: string;
}

/** Per-request view the provider gets when it needs to rewrite a path (content negotiation, redirects). */
export interface RequestView {
  /** Repository-relative, percent-decoded path ('' for the repository root). */
  path: string;
  method: string;
  accept: string;
  query: Record<string, string>;
}

export type Rewrite =
  | { path: string; vary?: string }
  | { redirect: string };

/** A package file as a provider route sees it (tar's `latest` redirect). */
export interface RouteFile {
  name: string;
  version: string;
  arch: string;
  filename: string;
  path: string;
}

/**
 * What a provider route gets, built once per request by the core (src/http/repo-router.ts):
 * the repository named in the URL (the core answers 404 before the handler runs when it does
 * not exist, and checks read access), the services a route may use, and URL helpers.
 */
export interface RouteContext {
  repo: RepoInfo;
  signer: RepoSigner;
  /** Absolute URL of the repository root, `<base>/repo/<provider>/<repo>` (no trailing slash). */
  repoUrl: string;
  baseUrl: string;
  /** Distinct partitions that hold files in this repository. */
  partitions(): Promise<string[]>;
  /** Indexed (not yanked-away) files of one package, oldest first. */
  packageFiles(name: string): Promise<RouteFile[]>;
  /** Whether the request's token may write to this repository. */
  canWrite: boolean;
}

/** A GET route a provider adds under /repo/<provider>/<repo>/ (public keys, installer scripts). */
export interface ProviderRoute {
  /** An Express path relative to the repository root, e.g. `/pubkey`, `/dists/:dist/install`. */
  path: string;
  handler(ctx: RouteContext, req: Request, res: Response): Promise<void>;
}

/**
 * An extra upload endpoint in a client's own protocol (twine's legacy API), handled by the
 * core's upload path: the provider only says where, which form field holds the file, how the
 * form is checked and how its fields map to upload parameters.
 */
export interface UploadEndpoint {
  /** Paths relative to the repository root that accept POST, e.g. `/`, `/legacy/`. */
  paths: readonly string[];
  fileField: string;
  /** Checks on the whole form before anything is stored; throw a DomainError. */
  verify?(fields: Record<string, string[]>, files: Record<string, UploadedFile>): void;
  /** Form fields -> upload parameters (and the claimed `name`/`version`). */
  params(fields: Record<string, string>): Record<string, string>;
}

/** A server-wide default for a repository setting, from an environment variable. */
export interface EnvDefault {
  /** The documented variable, e.g. `<FORMAT>_ARCHES`. */
  variable: string;
  /** The repository setting it is the default of, e.g. `arches`. */
  setting: string;
  /** Default of the variable itself, as a string the way the environment gives it. */
  default: string;
  /** Turns the variable's string into the setting's value; zod issues become boot errors. */
  schema: z.ZodType<unknown, string>;
}

/** The repository settings a format adds to the core ones (`keep`, `overwrite`, `private`, `description`). */
export interface ProviderSettings {
  /** One zod schema per setting key, validating a PATCH value (`null` is handled by the core: back to the default). */
  schema: Record<string, z.ZodType>;
  /** Settings (core or own) that show in published indexes: changing one republishes the repository. */
  inIndex: readonly string[];
  /** Settings whose server-wide default comes from the environment. */
  env?: readonly EnvDefault[];
}

export interface ProviderCapabilities {
  /**
   * What a yank does: `listed` keeps the file in the index, marked (PEP 592); `hidden` takes it
   * out of the index while its URL keeps working.
   */
  yank: 'listed' | 'hidden';
  /**
   * Entries carry a signature made with the repository's OpenPGP key (pacman's %PGPSIG%): a key
   * import or rotation re-renders every entry, not only the index signatures.
   */
  entriesSignedByRepoKey: boolean;
  /**
   * `false`: buildIndex never reads `EntryRow.meta`, so a publish does not load it (at 100,000
   * packages apt's meta, the whole control file again, is ~100 MB of strings held during the
   * build); reading it then throws. Omitted: loaded, as for every format until now.
   */
  indexReadsMeta?: boolean;
  /**
   * `false`: buildIndex never reads `EntryRow.hashes` (its entries already name the digests, as
   * apt's stanzas do), so a publish does not load them (~38 MiB at 100,000 packages); reading
   * them then throws. Omitted: loaded.
   */
  indexReadsHashes?: boolean;
}

export interface Provider {
  readonly name: string;
  /** Human title, e.g. 'APT (Debian, Ubuntu)'. */
  readonly title: string;
  /** Extra upload parameters (query or form fields) with their defaults, e.g. apt `dist`, `component`. */
  readonly uploadParams: z.ZodType<Record<string, string>>;
  /** Further multipart file fields an upload may carry, e.g. pacman's detached `sig`. */
  readonly uploadFileFields?: readonly string[];
  /** Whether name and version come from the package itself (the request's must then agree). */
  readonly selfDescribing: boolean;
  /**
   * Digests of each package file, beyond sha256, that this format's entries or indexes name
   * (apt's Packages: MD5sum, SHA1, SHA512; pacman's desc: %MD5SUM%). Only these are computed:
   * hashing costs CPU per byte uploaded (md5+sha1+sha512 are ~4x sha256), so a format lists
   * only what it renders. The core guarantees they are in `hashes` when `parse` and
   * `renderEntry` run (at reindex it hashes the stored blob once for rows that lack one).
   */
  readonly digests?: readonly Exclude<DigestAlgorithm, 'sha256'>[];
  readonly capabilities: ProviderCapabilities;
  readonly settings: ProviderSettings;
  /** Content-Type of package files by file-name suffix (`.deb`); the core knows generic ones (`.gz`, `.zip`, ...). */
  readonly contentTypes?: Readonly<Record<string, string>>;
  /**
   * Is this file of this format? Used when `provider` is omitted; read only what is needed.
   * A format without `detect` (tar accepts anything) is only used when named.
   */
  detect?(file: UploadedFile): Promise<boolean>;
  /** Validate and read the package; throw InvalidPackageError saying what is wrong. Bounded in memory. */
  parse(input: UploadInput): Promise<ParsedPackage>;
  /** The package's index entry, from what `parse` stored (called at upload and at every reindex). */
  renderEntry(pkg: StoredPackage, ctx: RenderContext): Promise<RenderedEntry>;
  /** Index scopes a change to a file of this partition must republish. */
  scopesFor(partition: string, ctx: ScopeContext): Promise<string[]>;
  /**
   * Index scopes that list which partitions exist, not what they hold (PyPI's project list,
   * built from `ctx.partitions()`): republished only when a partition gains its first file or
   * loses its last (src/core/listing-scopes.ts), so a new version of one of 100,000 projects
   * does not rebuild the list of all of them. Omitted: none.
   */
  listingScopes?(partition: string, ctx: ScopeContext): Promise<string[]>;
  /** All index files of one scope. Called under the scope's publish lock. */
  buildIndex(ctx: PublishContext): Promise<IndexFile[]>;
  /** Version order, newest last (`compare(a, b) < 0` when a is older). */
  compareVersions(a: string, b: string): number;
  /**
   * The key two spellings of one package name share (PyPI: PEP 503, `Acme_Core` -> `acme-core`);
   * stored with every file as `name_key` and compared instead of names. Defaults to the name itself.
   */
  normalizeName?(name: string): string;
  /**
   * Map a request before the generic lookup (index file, package file, attachment, listing).
   * A pure function of the view: the fast path (src/http/fast-path.ts) keeps its answers.
   */
  rewrite?(req: RequestView): Rewrite | null;
  /**
   * Index files a client fetches right after this one that must come from the same generation:
   * a file and its detached signature (pacman `<repo>.db` and `.db.sig`, rpm `repomd.xml` and
   * `.asc`), in either order. On one connection the partner is served from the generation of
   * the file just served, so a publish between the two requests cannot pair a file with another
   * generation's signature.
   */
  indexPartners?(path: string): string[];
  /** Other stored paths that may serve a requested path (pacman any/ under $arch, apk noarch/). */
  fallbackPaths?(path: string): string[];
  /**
   * Static publishing (src/core/static-publish/): the other paths a plain file server must hold
   * a stored package file at, because clients ask for it there and a file server has no
   * fallbackPaths (pacman `any/<file>` under every `<arch>/`, apk `noarch/` under every arch).
   * `scopes`: the repository's index scopes. Attachments follow their file.
   */
  staticAliases?(path: string, scopes: readonly string[]): string[];
  /**
   * Static publishing: the path clients ask for a stored index file at, when `rewrite` maps that
   * request to another stored path (rpm `repodata/<hash>-primary.xml.gz` is stored under
   * `repodata/by-hash/`). The static copy holds the file at the asked path; null: its own path.
   */
  staticPath?(storedPath: string): string | null;
  /**
   * Files addressed beside the repository instead of inside it: `/repo/<provider>/<repo><suffix>`
   * is answered as `/repo/<provider>/<repo>/<repo><suffix>` (rpm's `<repo>.repo`: the URL that
   * `dnf config-manager --add-repo` and `zypper addrepo` take). A repository named with the
   * suffix itself wins.
   */
  readonly siblingSuffixes?: readonly string[];
  /** Provider-specific GET routes under /repo/<provider>/<repo>/, tried before the generic lookup. */
  readonly routes?: readonly ProviderRoute[];
  /** Upload endpoints in a client's own protocol (twine), next to the core's POST /addpkg. */
  readonly uploadEndpoints?: readonly UploadEndpoint[];
  /** Copy-paste client setup for the UI and README. */
  setup(ctx: SetupContext): Promise<SetupSnippet[]>;
  /** The shell command that installs this version with the format's client (`apt-get install hello=2.10-3`), for package pages. */
  installCommand?(pkg: InstallTarget, ctx: InstallContext): string;
  /** Long description and file list of a stored package, from what `parse` returned as `indexData`. */
  packageDetails?(indexData: unknown): PackageDetails;
  /** How this format's remote (pull-through cache) repositories fetch and rewrite; absent: none. */
  readonly remote?: RemoteSupport;
  /** How this format's virtual repositories merge their members; absent: none. */
  readonly virtual?: VirtualSupport;
}
