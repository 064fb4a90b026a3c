/**
 * The one generic schema every provider shares:
 * Repository -> package File (name, version, arch, blob by sha256, pre-rendered index entry)
 * -> index Scope -> Generation -> IndexFile (blob); plus SigningKey and Token.
 * EntitySchema instead of decorators: no reflect-metadata and no emitDecoratorMetadata,
 * so the code runs unchanged under tsx/esbuild and tsc. Times are epoch milliseconds
 * (bigint) to avoid time-zone conversions that differ between SQLite and MySQL.
 */
import { EntitySchema } from 'typeorm';
import { opsEntities } from './ops-entities';
import { RemoteLinkEntity, RemoteObjectEntity } from './remote-entities';

/** bigint columns come back as strings from mysql2; store/read them as numbers. */
const bigNumber = { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };
const boolean = { to: (v: boolean) => (v ? 1 : 0), from: (v: number | boolean | string) => v === true || v === 1 || v === '1' };

export interface RepoRow {
  id: number;
  provider: string;
  name: string;
  settings: string;
  createdAt: number;
  /** 'hosted' | 'remote' | 'virtual' (src/core/kinds.ts). */
  kind: string;
  upstream: string | null;
  /** JSON array of member names (virtual). */
  members: string | null;
  /** JSON, credentials sealed (src/core/kinds.ts). */
  remoteConfig: string | null;
  cacheHits: number;
  cacheMisses: number;
}

export const RepoEntity = new EntitySchema<RepoRow>({
  name: 'Repo',
  tableName: 'repos',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    provider: { type: String, length: 32 },
    name: { type: String, length: 128 },
    settings: { type: 'text' },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    kind: { type: String, length: 16, default: 'hosted' },
    upstream: { type: 'text', nullable: true },
    members: { type: 'text', nullable: true },
    remoteConfig: { name: 'remote_config', type: 'text', nullable: true },
    cacheHits: { name: 'cache_hits', type: 'bigint', default: 0, transformer: bigNumber },
    cacheMisses: { name: 'cache_misses', type: 'bigint', default: 0, transformer: bigNumber },
  },
});

export interface FileRow {
  id: number;
  repoId: number;
  name: string;
  /** `name` normalized by the provider (PyPI: PEP 503), for "files of one package" lookups by (repo_id, name_key). */
  nameKey: string;
  version: string;
  arch: string;
  filename: string;
  path: string;
  partition: string;
  size: number;
  sha256: string;
  sha512: string;
  sha1: string;
  md5: string;
  meta: string;
  entry: string;
  /** JSON: what the provider renders `entry` from (null for rows stored before reindex existed). */
  indexData: string | null;
  /** JSON array of {suffix, sha256, size, contentType}. */
  attachments: string;
  /** PEP 592 reason ('' = yanked without reason), null = not yanked. */
  yanked: string | null;
  /** Removed from the index but still downloadable by URL ("yank" for non-PyPI formats). */
  hidden: boolean;
  /** Raised by every update that can change what an index shows of the row (migrations/1765300000000-FileRevision.ts). */
  rev: number;
  createdAt: number;
  /** Counted in memory and flushed in batches (src/core/download-stats.ts). */
  downloads: number;
  lastDownloadedAt: number | null;
}

/** The `rev` of an updated file row: every update that can change what an index shows of it sets this. */
export const bumpRev = () => 'rev + 1';

export const FileEntity = new EntitySchema<FileRow>({
  name: 'File',
  tableName: 'files',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    name: { type: String, length: 255 },
    nameKey: { name: 'name_key', type: String, length: 255 },
    version: { type: String, length: 255 },
    arch: { type: String, length: 64 },
    filename: { type: String, length: 255 },
    path: { type: String, length: 400 },
    partition: { type: String, length: 200 },
    size: { type: 'bigint', transformer: bigNumber },
    sha256: { type: String, length: 64 },
    sha512: { type: String, length: 128 },
    sha1: { type: String, length: 40 },
    md5: { type: String, length: 32 },
    meta: { type: 'text' },
    entry: { type: 'text' },
    indexData: { name: 'index_data', type: 'text', nullable: true },
    attachments: { type: 'text' },
    yanked: { type: String, length: 1024, nullable: true },
    hidden: { type: 'integer', transformer: boolean },
    rev: { type: 'integer', default: 0 },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    downloads: { type: 'bigint', default: 0, transformer: bigNumber },
    lastDownloadedAt: { name: 'last_downloaded_at', type: 'bigint', nullable: true, transformer: bigNumber },
  },
});

export interface ScopeRow {
  id: number;
  repoId: number;
  scope: string;
  requestedSeq: number;
  publishedSeq: number;
  generationId: number | null;
  publishedAt: number | null;
}

export const ScopeEntity = new EntitySchema<ScopeRow>({
  name: 'Scope',
  tableName: 'scopes',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    scope: { type: String, length: 255 },
    requestedSeq: { name: 'requested_seq', type: 'bigint', transformer: bigNumber },
    publishedSeq: { name: 'published_seq', type: 'bigint', transformer: bigNumber },
    generationId: { name: 'generation_id', type: Number, nullable: true },
    publishedAt: { name: 'published_at', type: 'bigint', nullable: true, transformer: bigNumber },
  },
});

export interface GenerationRow {
  id: number;
  repoId: number;
  scope: string;
  seq: number;
  createdAt: number;
}

export const GenerationEntity = new EntitySchema<GenerationRow>({
  name: 'Generation',
  tableName: 'generations',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    scope: { type: String, length: 255 },
    seq: { type: 'bigint', transformer: bigNumber },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
  },
});

export interface IndexFileRow {
  id: number;
  generationId: number;
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  historic: boolean;
}

export const IndexFileEntity = new EntitySchema<IndexFileRow>({
  name: 'IndexFile',
  tableName: 'index_files',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    generationId: { name: 'generation_id', type: Number },
    path: { type: String, length: 400 },
    sha256: { type: String, length: 64 },
    size: { type: 'bigint', transformer: bigNumber },
    contentType: { name: 'content_type', type: String, length: 128 },
    historic: { type: 'integer', transformer: boolean },
  },
});

export interface SigningKeyRow {
  id: number;
  repoId: number;
  kind: 'openpgp' | 'rsa';
  name: string;
  fingerprint: string;
  publicKey: string;
  /** PEM / armored private key, or `enc:v1:...` when MASTER_KEY encrypts it at rest. */
  privateKey: string;
  active: boolean;
  createdAt: number;
}

export const SigningKeyEntity = new EntitySchema<SigningKeyRow>({
  name: 'SigningKey',
  tableName: 'signing_keys',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    kind: { type: String, length: 16 },
    name: { type: String, length: 255 },
    fingerprint: { type: String, length: 128 },
    publicKey: { name: 'public_key', type: 'text' },
    privateKey: { name: 'private_key', type: 'text' },
    active: { type: 'integer', transformer: boolean },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
  },
});

export interface TokenRow {
  id: number;
  name: string;
  /** sha256 of the secret; the secret itself is shown once at creation. */
  tokenHash: string;
  role: 'read' | 'write' | 'admin';
  /** Glob over repository names (`*`, `team-*`). */
  repoPattern: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export const TokenEntity = new EntitySchema<TokenRow>({
  name: 'Token',
  tableName: 'tokens',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    name: { type: String, length: 128 },
    tokenHash: { name: 'token_hash', type: String, length: 64 },
    role: { type: String, length: 16 },
    repoPattern: { name: 'repo_pattern', type: String, length: 255 },
    expiresAt: { name: 'expires_at', type: 'bigint', nullable: true, transformer: bigNumber },
    lastUsedAt: { name: 'last_used_at', type: 'bigint', nullable: true, transformer: bigNumber },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    revokedAt: { name: 'revoked_at', type: 'bigint', nullable: true, transformer: bigNumber },
  },
});


export interface SessionRow {
  id: number;
  /** sha256 of the cookie's session id: a leaked database holds no usable cookie. */
  sessionHash: string;
  /** sha256 of the token signed in with, looked up again on every request (revoking the token ends the session). */
  tokenHash: string;
  /** The synchronizer CSRF token every state-changing form of this session carries. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export const SessionEntity = new EntitySchema<SessionRow>({
  name: 'Session',
  tableName: 'sessions',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    sessionHash: { name: 'session_hash', type: String, length: 64 },
    tokenHash: { name: 'token_hash', type: String, length: 64 },
    csrfToken: { name: 'csrf_token', type: String, length: 64 },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    expiresAt: { name: 'expires_at', type: 'bigint', transformer: bigNumber },
  },
});

/** A repository's file-change seq (migrations/1765400000000-FileChanges.ts, src/core/key-cache.ts). */
export interface FileChangeSeqRow {
  repoId: number;
  seq: number;
  /** Change rows with seq <= pruned are deleted. */
  pruned: number;
}

export const FileChangeSeqEntity = new EntitySchema<FileChangeSeqRow>({
  name: 'FileChangeSeq',
  tableName: 'file_change_seqs',
  columns: {
    repoId: { name: 'repo_id', type: Number, primary: true },
    seq: { type: 'bigint', default: 0, transformer: bigNumber },
    pruned: { type: 'bigint', default: 0, transformer: bigNumber },
  },
});

/** One file row changed by the write that raised its repository's seq to `seq` (fileId 0: every file). */
export interface FileChangeRow {
  id: number;
  repoId: number;
  seq: number;
  fileId: number;
}

export const FileChangeEntity = new EntitySchema<FileChangeRow>({
  name: 'FileChange',
  tableName: 'file_changes',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    seq: { type: 'bigint', transformer: bigNumber },
    fileId: { name: 'file_id', type: 'bigint', transformer: bigNumber },
  },
});

export const allEntities = [RepoEntity, FileEntity, ScopeEntity, FileChangeSeqEntity, FileChangeEntity, GenerationEntity, IndexFileEntity, SigningKeyEntity, TokenEntity, SessionEntity, ...opsEntities, RemoteObjectEntity, RemoteLinkEntity];
