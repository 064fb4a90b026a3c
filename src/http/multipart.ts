/**
 * Streaming multipart reception: each file part goes straight to a temp file on local
 * disk, digested on the way by a worker thread (src/util/hashed-file.ts): sha256, plus the
 * digests the caller names (those of the provider, when it is known before the body).
 * Nothing is held whole in memory, and a part over MAX_UPLOAD_SIZE aborts with 413 and is deleted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import busboy from 'busboy';
import { BadRequestError, TooLargeError, UnsupportedMediaError } from '../core/errors';
import { checkFileName } from '../core/names';
import type { UploadedFile } from '../core/provider';
import type { DigestAlgorithm } from '../util/digest-types';
import { HashedFileWriter } from '../util/hashed-file';

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

export async function receiveMultipart(req: Request, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new UnsupportedMediaError(`expected multipart/form-data with the package in field "${opts.fileFields[0]}" (curl -F '${opts.fileFields[0]}=@file'); got ${type || 'no Content-Type'}`);
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
  let bb: busboy.Busboy;
  try {
    // One more file than there are fields, so that a field sent twice gets its own message below.
    // 1 MiB buffers (busboy's own and each file part's; Node's default is 16 KiB): below a socket
    // read (64 KiB), every chunk made busboy pause until the part stream was read again.
    bb = busboy({ headers: req.headers, highWaterMark: 1 << 20, fileHwm: 1 << 20, limits: { files: opts.maxFiles ?? opts.fileFields.length + 1, fields: 200, fieldSize: 1 << 20, fileSize: opts.maxFileSize, parts: Math.max(400, (opts.maxFiles ?? 0) + 200) }, defParamCharset: 'utf8' });
  } catch (e) {
    throw new BadRequestError(`malformed multipart request: ${(e as Error).message}`);
  }
  const writes: Promise<void>[] = [];
  /** File part streams still being written: destroyed on failure so their pipelines end and close their descriptors. */
  const active = new Set<Readable>();
  /** File fields seen so far, set when the part starts (result.files is only filled once a part is fully written). */
  const seenFiles = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe(bb);
        req.resume();
        // Without this, a part whose client went away never ends: its pipeline, temp file and
        // descriptor would stay until restart, and the cleanup below would wait forever.
        for (const s of active) s.destroy(e);
        bb.destroy();
        reject(e);
      };
      bb.on('field', (name, value) => {
        result.fields[name] = value;
        (result.multiFields[name] ??= []).push(value);
      });
      bb.on('file', (field, stream, info) => {
        // Busboy errors a part's stream when the body ends early or is destroyed; parts we only
        // drain (refused ones) have no pipeline to take that error.
        stream.on('error', () => undefined);
        if (!opts.fileFields.includes(field)) {
          stream.resume();
          fail(new BadRequestError(`unexpected file field "${field}"; the package goes in field "${opts.fileFields[0]}"`));
          return;
        }
        const repeatable = opts.repeatableFileFields?.includes(field) ?? false;
        if (seenFiles.has(field) && !repeatable) {
          stream.resume();
          fail(new BadRequestError(field === opts.fileFields[0] ? `send one file in field "${field}"; it was sent more than once` : `file field "${field}" was sent more than once; send it once`));
          return;
        }
        seenFiles.add(field);
        let clientFilename = info.filename ?? '';
        try {
          // Only the last path component counts (browsers on Windows send C:\...\x.whl),
          // and it must be a harmless name.
          clientFilename = clientFilename.split(/[\\/]/).pop() ?? '';
          if (clientFilename) checkFileName(clientFilename, 'uploaded file name');
        } catch (e) {
          stream.resume();
          fail(e as Error);
          return;
        }
        const tmp = path.join(opts.tmpDir, `upload-${crypto.randomBytes(12).toString('hex')}`);
        temps.push(tmp);
        const writer = new HashedFileWriter(tmp, [...new Set<DigestAlgorithm>(['sha256', ...(opts.digests ?? [])])]);
        const list = (result.fileLists[field] ??= []);
        // Reserve the slot now: the next part may start before this one is written.
        const slot = list.push(undefined as unknown as UploadedFile) - 1;
        let truncated = false;
        stream.on('limit', () => {
          truncated = true;
        });
        active.add(stream);
        const w = pipeline(stream, writer).then(() => {
          active.delete(stream);
          if (truncated) throw new TooLargeError(`"${clientFilename || field}" is larger than MAX_UPLOAD_SIZE (${opts.maxFileSize} bytes)`);
          const received: UploadedFile = { localPath: tmp, clientFilename, size: writer.size, hashes: { ...writer.digests, sha256: writer.digests.sha256! } };
          list[slot] = received;
          if (slot === 0) result.files[field] = received;
        });
        w.catch(fail);
        writes.push(w);
      });
      bb.on('filesLimit', () => fail(new BadRequestError(`too many files; accepted fields: ${opts.fileFields.join(', ')}`)));
      bb.on('error', (e) => fail(new BadRequestError(`malformed multipart request: ${(e as Error).message}`)));
      bb.on('close', () => {
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
      // its 'close' was emitted already and will not come again, so piping would wait forever
      // on a body that never ends, holding the temp file of whatever was buffered.
      if (req.destroyed && !req.complete) {
        aborted();
        return;
      }
      req.pipe(bb);
    });
  } catch (e) {
    await Promise.allSettled(writes);
    await result.cleanup();
    throw e;
  }
  return result;
}
