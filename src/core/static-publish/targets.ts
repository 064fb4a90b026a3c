/**
 * Where a static copy of the repositories is written: a local directory (served by nginx or
 * any web server) or an S3 bucket/prefix (S3 website hosting, a CDN). Both take whole files
 * only: a reader sees the old file or the new one, never a partial one.
 */
import crypto from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface TargetFile {
  size: number;
  modified: number;
}

export interface StaticTarget {
  /** For logs: `dir:/srv/static` or `s3:bucket/prefix`. */
  readonly label: string;
  /** Write `body` at `key` atomically (directory: temp name then rename; S3: one PUT or a multipart upload). */
  put(key: string, body: Readable, meta: { size: number; contentType: string; cacheControl: string }): Promise<void>;
  /** Every file under `prefix` (a folder ending in '/'), keyed by its path relative to the prefix. */
  list(prefix: string): Promise<Map<string, TargetFile>>;
  delete(key: string): Promise<void>;
  /** Small bookkeeping file (the manifest); null when absent. */
  read(key: string): Promise<Buffer | null>;
  /** Leftovers of a write a crash interrupted (directory temp names); removed by the sync. */
  isTemporary(key: string): boolean;
  close(): void;
}

const TMP_MARK = '.static-tmp-';

/** A directory tree; files are renamed into place, so nginx never serves a partial file. */
export class DirTarget implements StaticTarget {
  readonly label: string;
  constructor(private readonly root: string) {
    this.label = `dir:${root}`;
  }

  private file(key: string): string {
    const p = path.resolve(this.root, key);
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`static path escapes the target: ${key}`);
    return p;
  }

  async put(key: string, body: Readable, _meta: { size: number }): Promise<void> {
    const dest = this.file(key);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}${TMP_MARK}${crypto.randomBytes(6).toString('hex')}`);
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
      await fs.rename(tmp, dest);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  async list(prefix: string): Promise<Map<string, TargetFile>> {
    const out = new Map<string, TargetFile>();
    const base = this.file(prefix);
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full, `${rel}${e.name}/`);
        else if (e.isFile()) {
          const st = await fs.stat(full).catch(() => null);
          if (st) out.set(`${rel}${e.name}`, { size: st.size, modified: st.mtimeMs });
        }
      }
    };
    await walk(base, '');
    return out;
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    await fs.rm(file, { force: true });
    // Empty folders go with their last file (a deleted distribution leaves no empty tree).
    let dir = path.dirname(file);
    const root = path.resolve(this.root);
    while (dir.startsWith(root + path.sep)) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
  }

  async read(key: string): Promise<Buffer | null> {
    return fs.readFile(this.file(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
  }

  isTemporary(key: string): boolean {
    return path.basename(key).includes(TMP_MARK);
  }

  close(): void {}
}

/** `http(s)://<key>:<secret>@<endpoint>/<bucket>[/<prefix>]`, the S3_URL form plus an optional key prefix. */
export function parseStaticS3Url(url: string): { endpoint: string; bucket: string; prefix: string; accessKeyId?: string; secretAccessKey?: string } {
  const u = new URL(url);
  const [bucket, ...rest] = u.pathname.replace(/^\/+|\/+$/g, '').split('/');
  return {
    endpoint: `${u.protocol}//${u.host}`,
    bucket: bucket!,
    prefix: rest.length ? `${rest.join('/')}/` : '',
    accessKeyId: u.username ? decodeURIComponent(u.username) : undefined,
    secretAccessKey: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/** Objects in a bucket, path-style; each object is replaced by a single PUT (atomic in S3). */
export class S3Target implements StaticTarget {
  readonly label: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(url: string, region: string) {
    const o = parseStaticS3Url(url);
    this.bucket = o.bucket;
    this.prefix = o.prefix;
    this.label = `s3:${o.bucket}/${o.prefix}`;
    this.client = new S3Client({
      endpoint: o.endpoint,
      region,
      forcePathStyle: true,
      credentials: o.accessKeyId ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey ?? '' } : undefined,
      // See S3BlobStore: s3rver, older minio and Ceph mishandle the SDK's default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable, meta: { size: number; contentType: string; cacheControl: string }): Promise<void> {
    const params = { Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentType: meta.contentType, CacheControl: meta.cacheControl };
    if (meta.size <= 8 * 1024 * 1024) {
      await this.client.send(new PutObjectCommand({ ...params, ContentLength: meta.size }));
      return;
    }
    // Large package files stream as a multipart upload; the object appears only when it completes.
    await new Upload({ client: this.client, params, partSize: 8 * 1024 * 1024, queueSize: 4 }).done();
  }

  async list(prefix: string): Promise<Map<string, TargetFile>> {
    const out = new Map<string, TargetFile>();
    const full = this.prefix + prefix;
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) out.set(o.Key.slice(full.length), { size: Number(o.Size ?? 0), modified: o.LastModified?.getTime() ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  async read(key: string): Promise<Buffer | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (e as Error).name === 'NoSuchKey') return null;
      throw e;
    }
  }

  isTemporary(): boolean {
    return false;
  }

  close(): void {
    this.client.destroy();
  }
}
