/**
 * Serving stored bytes: Content-Type/Length, ETag (the sha256, strong), Last-Modified,
 * conditional GET (304) and single byte ranges (206/416). Streams; never buffers.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../storage/blob-store';
import { blobKey } from '../storage/blob-store';
import { NotFoundError } from '../core/errors';
import type { BlobBodyCache } from '../core/blob-body-cache';

export interface BlobToSend {
  sha256: string;
  size: number;
  contentType: string;
  lastModified: Date;
  /** Offer presigned-URL redirects (package files on S3 with S3_REDIRECT=presigned). */
  redirectable?: boolean;
  filename?: string;
  cacheControl?: string;
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multi-range or other units: ignore and send everything (allowed by RFC 9110)
  let start: number;
  let end: number;
  if (m[1] === '') {
    if (m[2] === '') return 'invalid';
    const n = Number(m[2]);
    if (n === 0) return 'invalid';
    start = Math.max(size - n, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

/** What the validators of a blob say for a request's headers (shared by sendBlob and the fast path, src/http/fast-path.ts). */
export interface BlobValidators {
  etag: string;
  lastModified: string;
  /** The stamp is ahead of the clock: dates are not trusted for 304 or If-Range. */
  young: boolean;
  notModified: boolean;
}

export function blobValidators(headers: IncomingHttpHeaders, blob: Pick<BlobToSend, 'sha256' | 'lastModified'>): BlobValidators {
  const etag = `"${blob.sha256}"`;
  // Each generation of an index is stamped at least a second after the previous one (so that
  // If-Modified-Since, all apt and pacman send, can tell them apart), which after a burst puts
  // the newest stamp ahead of the clock. Last-Modified then says `now`, and a date is not
  // trusted for 304 or If-Range until the stamp is reached. One exception: a client revalidating
  // within the second its copy is dated needs a later date, or libcurl (pacman, librepo) drops
  // the new body as "not new enough" (lib/http.c, Curl_meets_timecondition); it gets the stamp.
  // A client's date always comes from an older generation (at most its stamp), so it is below
  // every newer stamp: no stale 304, only a full answer where a 304 would have done.
  const stamp = Math.floor(blob.lastModified.getTime() / 1000) * 1000;
  const now = Math.floor(Date.now() / 1000) * 1000;
  const young = stamp > now;
  const ims = headers['if-modified-since'];
  const since = ims === undefined ? NaN : Date.parse(ims);
  const lastModified = new Date(young && !(since < now) && !Number.isNaN(since) ? stamp : Math.min(stamp, now));
  const inm = headers['if-none-match'];
  const notModified = inm !== undefined ? inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*') : !young && !Number.isNaN(since) && lastModified.getTime() <= since;
  return { etag, lastModified: lastModified.toUTCString(), young, notModified };
}

/** The headers every blob answer carries, in this order (the fast path sets the same). */
export function setBlobHeaders(res: ServerResponse, v: BlobValidators, blob: Pick<BlobToSend, 'contentType' | 'cacheControl'>): void {
  res.setHeader('ETag', v.etag);
  res.setHeader('Last-Modified', v.lastModified);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', blob.contentType);
  if (blob.cacheControl) res.setHeader('Cache-Control', blob.cacheControl);
}

/** `bodies`: small blobs are answered from memory (src/core/blob-body-cache.ts); headers are the same either way. */
export async function sendBlob(req: Request, res: Response, blobs: BlobStore, blob: BlobToSend, presign: boolean, bodies?: BlobBodyCache): Promise<void> {
  const v = blobValidators(req.headers, blob);
  const { etag, young, notModified } = v;
  setBlobHeaders(res, v, blob);

  if (notModified) {
    res.status(304).end();
    return;
  }
  if (presign && blob.redirectable && blobs.presignedUrl) {
    res.redirect(302, await blobs.presignedUrl(blobKey(blob.sha256), blob.filename ?? blob.sha256, blob.contentType));
    return;
  }
  let range = parseRange(req.headers.range, blob.size);
  const ifRange = req.headers['if-range'];
  if (range && ifRange && ifRange !== etag && (young || ifRange !== v.lastModified)) range = null;
  if (range === 'invalid') {
    res.status(416).setHeader('Content-Range', `bytes */${blob.size}`);
    res.json({ error: `range not satisfiable for ${blob.size} bytes`, code: 'range_not_satisfiable' });
    return;
  }
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.status(200);
    res.setHeader('Content-Length', String(blob.size));
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let stream;
  let body: Buffer | null = null;
  try {
    if (bodies?.fits(blob.size)) body = await bodies.get(blob.sha256, blob.size, () => blobs.get(blobKey(blob.sha256)));
    if (!body) stream = await blobs.get(blobKey(blob.sha256), range ?? undefined);
  } catch {
    throw new NotFoundError('the stored file is missing');
  }
  if (body || !stream) {
    res.end(body && range ? body.subarray(range.start, range.end + 1) : body);
    return;
  }
  await pipeline(stream, res).catch(() => undefined); // client went away: nothing to do
}
