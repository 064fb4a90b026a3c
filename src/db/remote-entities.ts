/** The remote (pull-through) cache's tables; see migrations/1765200000000-RepoKinds.ts. */
import { EntitySchema } from 'typeorm';

const bigNumber = { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };

export type RemoteObjectKind = 'index' | 'package';

export interface RemoteObjectRow {
  id: number;
  repoId: number;
  /** Repository-relative path it is served at. */
  path: string;
  kind: RemoteObjectKind;
  sha256: string;
  size: number;
  contentType: string;
  upstreamUrl: string;
  /** The index fetch that produced it (its own path for package files). */
  source: string;
  fetchedAt: number;
  lastUsedAt: number;
}

export const RemoteObjectEntity = new EntitySchema<RemoteObjectRow>({
  name: 'RemoteObject',
  tableName: 'remote_objects',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    path: { type: String, length: 400 },
    kind: { type: String, length: 16 },
    sha256: { type: String, length: 64 },
    size: { type: 'bigint', transformer: bigNumber },
    contentType: { name: 'content_type', type: String, length: 128 },
    upstreamUrl: { name: 'upstream_url', type: 'text' },
    source: { type: String, length: 400 },
    fetchedAt: { name: 'fetched_at', type: 'bigint', transformer: bigNumber },
    lastUsedAt: { name: 'last_used_at', type: 'bigint', transformer: bigNumber },
  },
});

export interface RemoteLinkRow {
  id: number;
  repoId: number;
  path: string;
  source: string;
  upstreamUrl: string;
  sha256: string | null;
}

export const RemoteLinkEntity = new EntitySchema<RemoteLinkRow>({
  name: 'RemoteLink',
  tableName: 'remote_links',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    path: { type: String, length: 400 },
    source: { type: String, length: 400 },
    upstreamUrl: { name: 'upstream_url', type: 'text' },
    sha256: { type: String, length: 64, nullable: true },
  },
});
