import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  S3Client,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  HeadBucketCommand,
  CreateBucketCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobStat, BlobStore, ByteRange } from './blob-store';

export interface S3Options {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Parse the seed's `http(s)://<key>:<secret>@<endpoint>/<bucket>` form. */
export function parseS3Url(url: string, region: string): S3Options {
  const u = new URL(url);
  const bucket = u.pathname.replace(/^\/+|\/+$/g, '');
  return {
    endpoint: `${u.protocol}//${u.host}`,
    bucket,
    region,
    // Without credentials in the URL the SDK's default chain (AWS_ACCESS_KEY_ID, profiles, IMDS) applies.
    accessKeyId: u.username ? decodeURIComponent(u.username) : undefined,
    secretAccessKey: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/** Blobs as objects in one bucket, path-style (minio, s3rver, Ceph, AWS). */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly opts: S3Options) {
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: true,
      credentials: opts.accessKeyId ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey ?? '' } : undefined,
      // SDK >= 3.729 adds CRC32 checksums to every upload by default; minio before 2025,
      // Ceph and s3rver reject or mangle them. Only send checksums when an operation needs one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: this.opts.bucket }));
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    // lib-storage splits into 8 MiB parts with at most 4 in flight: memory stays flat.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: key, Body: createReadStream(localPath) },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    });
    await upload.done();
  }

  async putBuffer(key: string, data: Buffer, contentType?: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: data, ContentType: contentType, ContentLength: data.length }));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const r = await this.client.send(
      new GetObjectCommand({ Bucket: this.opts.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
    );
    return r.Body as Readable;
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      return { size: Number(r.ContentLength ?? 0), lastModified: r.LastModified ?? new Date(0) };
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<{ key: string } & BlobStat> {
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: Number(o.Size ?? 0), lastModified: o.LastModified ?? new Date(0) };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async presignedUrl(key: string, filename: string, contentType: string): Promise<string> {
    const cmd = new GetObjectCommand({
      Bucket: this.opts.bucket,
      Key: key,
      ResponseContentType: contentType,
      ResponseContentDisposition: `attachment; filename="${filename.replace(/["\\]/g, '_')}"`,
    });
    return getSignedUrl(this.client, cmd, { expiresIn: 300 });
  }

  async check(): Promise<void> {
    const key = `healthz/${process.pid}`;
    await this.putBuffer(key, Buffer.from('ok'));
    await this.delete(key);
  }

  destroy(): void {
    this.client.destroy();
  }
}
