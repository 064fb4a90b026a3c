/**
 * Streaming multipart reception: each file part goes straight to a temp file on local
 * disk, digested on the way by a worker thread (src/util/hashed-file.ts): sha256, plus the
 * digests the caller names (those of the provider, when it is known before the body).
 * Nothing is held whole in memory, and a part over MAX_UPLOAD_SIZE aborts with 413 and is deleted.
 * The request is paused while a file's writer has more than its high-water mark queued, so a
 * client faster than the disk is slowed by TCP instead of filling memory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Request } from 'express';
import { BadRequestError, DomainError, TooLargeError, UnsupportedMediaError } from '../core/errors';
import { checkFileName } from '../core/names';
import type { UploadedFile } from '../core/provider';
import type { DigestAlgorithm } from '../util/digest-types';
import { HashedFileWriter } from '../util/hashed-file';
import { boundaryOf, MultipartError, MultipartParser, type PartInfo } from './multipart-parser';

export interface ReceivedUpload {
  fields: Record<string, string>;
  /** Repeated fields (twine sends classifiers etc. once per value). */
  multiFields: Record<string, string[]>;
  files: Record<string, UploadedFile>;
  /** Every file of a repeatable field, in the order sent (`files` holds the first). */
  fileLists: Record<string, UploadedFile[]>;
  /** Removes every temp file that was not consumed. Always call it. */
  cleanup(): Promise<void>;
}

export interface ReceiveOptions {
  tmpDir: string;
  maxFileSize: number;
  /** Accepted file field names, e.g. ['f', 'sig']. */
  fileFields: string[];
  /** File fields that may be sent more than once (the web UI's `<input type="file" multiple>`), up to `maxFiles` files in all. */
  repeatableFileFields?: string[];
  maxFiles?: number;
  /** Digests to compute while receiving, besides sha256 (the provider's, when already known). */
  digests?: readonly DigestAlgorithm[];
}

/** Form fields (not files) per request, and bytes per field (twine's description is the largest). */
const MAX_FIELDS = 200;
const MAX_FIELD_BYTES = 1 << 20;
/**
 * Body bytes handled per event-loop turn before the request yields (paused until setImmediate;
 * 128 KiB gave a lower /healthz p99 than 256 KiB in paired runs, at the same upload rate).
 * Without it, a fast client keeps the socket readable and libuv reads up to 32 x 64 KiB per
 * wake-up: every other request's file system callback (a /healthz probe makes several in a row)
 * then waits a whole 2 MiB behind the upload, each time.
 */
const TURN_BYTES = 128 * 1024;

function domainError(e: unknown): Error {
  if (e instanceof MultipartError) return e.status === 413 ? new TooLargeError(e.message) : new BadRequestError(e.message);
  return e instanceof DomainError ? e : new BadRequestError(`malformed multipart request: ${(e as Error).message}`);
}

type Current =
  | { kind: 'none' }
  | { kind: 'field'; name: string; pieces: Buffer[]; size: number }
  | { kind: 'file'; field: string; clientFilename: string; writer: HashedFileWriter; bytes: number };

export async function receiveMultipart(req: Request, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new UnsupportedMediaError(`expected multipart/form-data with the package in field "${opts.fileFields[0]}" (curl -F '${opts.fileFields[0]}=@file'); got ${type || 'no Content-Type'}`);
  }
  let boundary: string;
  try {
    boundary = boundaryOf(type);
  } catch (e) {
    throw domainError(e);
  }
  await fs.mkdir(opts.tmpDir, { recursive: true });
  const temps: string[] = [];
  const result: ReceivedUpload = {
    fields: {},
    multiFields: {},
    files: {},
    fileLists: {},
    cleanup: async () => {
      await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    },
  };
  // One more file than there are fields, so that a field sent twice gets its own message below.
  const maxFiles = opts.maxFiles ?? opts.fileFields.length + 1;
  const algorithms = [...new Set<DigestAlgorithm>(['sha256', ...(opts.digests ?? [])])];
  const writes: Promise<void>[] = [];
  /** File writers still open: destroyed on failure so that they close their descriptors. */
  const active = new Set<HashedFileWriter>();
  let files = 0;
  let fields = 0;
  let current: Current = { kind: 'none' };
  /** Set once the request is paused for a writer's backpressure. */
  let paused = false;
  /** Set while the request yields to the rest of the event loop (TURN_BYTES). */
  let yielding = false;
  let turnBytes = 0;

  const startFile = (info: PartInfo): Current => {
    const field = info.name;
    if (++files > maxFiles) throw new BadRequestError(`too many files; accepted fields: ${opts.fileFields.join(', ')}`);
    if (!opts.fileFields.includes(field)) throw new BadRequestError(`unexpected file field "${field}"; the package goes in field "${opts.fileFields[0]}"`);
    const repeatable = opts.repeatableFileFields?.includes(field) ?? false;
    if (result.fileLists[field] && !repeatable) {
      throw new BadRequestError(field === opts.fileFields[0] ? `send one file in field "${field}"; it was sent more than once` : `file field "${field}" was sent more than once; send it once`);
    }
    // Only the last path component counts (browsers on Windows send C:\...\x.whl), and it must be a harmless name.
    const clientFilename = (info.filename ?? '').split(/[\\/]/).pop() ?? '';
    if (clientFilename) checkFileName(clientFilename, 'uploaded file name');
    const tmp = path.join(opts.tmpDir, `upload-${crypto.randomBytes(12).toString('hex')}`);
    temps.push(tmp);
    const writer = new HashedFileWriter(tmp, algorithms);
    active.add(writer);
    const list = (result.fileLists[field] ??= []);
    // Reserve the slot now: the next part may start before this one is written.
    const slot = list.push(undefined as unknown as UploadedFile) - 1;
    const w = finished(writer).then(() => {
      active.delete(writer);
      const received: UploadedFile = { localPath: tmp, clientFilename, size: writer.size, hashes: { ...writer.digests, sha256: writer.digests.sha256! } };
      list[slot] = received;
      if (slot === 0) result.files[field] = received;
    });
    writes.push(w);
    return { kind: 'file', field, clientFilename, writer, bytes: 0 };
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.off('data', onData);
        // The rest of the body is read and dropped (or the connection closed by the server's timeouts).
        req.resume();
        // Without this, a file whose client went away never ends: its temp file and descriptor
        // would stay until restart, and the cleanup below would wait forever.
        for (const w of active) w.destroy(e);
        reject(e);
      };
      // Resumed when the writer drains, or finishes (an ended writer emits no 'drain'), or is destroyed.
      const pauseFor = (writer: HashedFileWriter) => {
        if (paused) return;
        paused = true;
        req.pause();
        const resume = () => {
          for (const ev of ['drain', 'finish', 'close']) writer.off(ev, resume);
          paused = false;
          if (!failed && !yielding) req.resume();
        };
        for (const ev of ['drain', 'finish', 'close']) writer.on(ev, resume);
      };
      const parser = new MultipartParser(
        boundary,
        {
          partStart: (info) => {
            if (info.isFile) {
              current = startFile(info);
              writes[writes.length - 1]!.catch(fail);
              return;
            }
            if (++fields > MAX_FIELDS) throw new BadRequestError(`too many form fields; at most ${MAX_FIELDS}`);
            current = { kind: 'field', name: info.name, pieces: [], size: 0 };
          },
          partData: (data) => {
            const c = current;
            if (c.kind === 'file') {
              c.bytes += data.length;
              if (c.bytes > opts.maxFileSize) throw new TooLargeError(`"${c.clientFilename || c.field}" is larger than MAX_UPLOAD_SIZE (${opts.maxFileSize} bytes)`);
              if (!c.writer.write(data)) pauseFor(c.writer);
            } else if (c.kind === 'field') {
              c.size += data.length;
              if (c.size > MAX_FIELD_BYTES) throw new TooLargeError(`form field "${c.name}" is larger than ${MAX_FIELD_BYTES} bytes`);
              c.pieces.push(data);
            }
          },
          partEnd: () => {
            const c = current;
            current = { kind: 'none' };
            if (c.kind === 'file') c.writer.end();
            else if (c.kind === 'field') {
              const value = Buffer.concat(c.pieces).toString('utf8');
              result.fields[c.name] = value;
              (result.multiFields[c.name] ??= []).push(value);
            }
          },
        },
        Math.max(400, (opts.maxFiles ?? 0) + 200),
      );
      const onData = (chunk: Buffer) => {
        try {
          parser.write(chunk);
        } catch (e) {
          fail(domainError(e));
          return;
        }
        turnBytes += chunk.length;
        if (turnBytes >= TURN_BYTES && !yielding) {
          yielding = true;
          req.pause();
          setImmediate(() => {
            yielding = false;
            turnBytes = 0;
            if (!failed && !paused) req.resume();
          });
        }
      };
      req.on('data', onData);
      req.on('end', () => {
        if (failed) return;
        try {
          parser.end();
        } catch (e) {
          fail(domainError(e));
          return;
        }
        Promise.all(writes).then(() => (failed ? undefined : resolve()), fail);
      });
      const aborted = () => fail(new BadRequestError('the client closed the connection mid-upload'));
      req.on('aborted', aborted);
      // 'aborted' is deprecated; 'close' before the body is complete means the same.
      req.on('close', () => {
        if (!req.complete) aborted();
      });
      req.on('error', aborted);
      // The client may have gone before this ran (the handler awaited authentication first):
      // its 'close' was emitted already and will not come again, so reading would wait forever
      // on a body that never ends, holding the temp file of whatever was buffered.
      if (req.destroyed && !req.complete) aborted();
    });
  } catch (e) {
    await Promise.allSettled(writes);
    await result.cleanup();
    throw e;
  }
  return result;
}
