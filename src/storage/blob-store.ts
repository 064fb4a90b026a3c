import type { Readable } from 'node:stream';

export interface BlobStat {
  size: number;
  lastModified: Date;
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Content-addressed blob storage. Keys are written once and never modified, so readers
 * need no locking: a key either does not exist yet or holds its final bytes.
 */
export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /**
   * Store a complete local file under `key` (streamed; multipart for S3). Atomic: readers never
   * see partial bytes. The local file is consumed (moved or left for the caller to delete).
   */
  putFile(key: string, localPath: string): Promise<void>;
  /** Store small in-memory data (index files, attachments). */
  putBuffer(key: string, data: Buffer, contentType?: string): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobStat | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<{ key: string } & BlobStat>;
  /** A short-lived URL a client can download from directly (S3 only). */
  presignedUrl?(key: string, filename: string, contentType: string): Promise<string>;
  /** Throws when the store is not writable. */
  check(): Promise<void>;
}

/** The key of a blob with this sha256. Sharded so no directory grows huge. */
export function blobKey(sha256: string): string {
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}
