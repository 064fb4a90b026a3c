/**
 * Streaming multipart reception: each file part goes straight to a temp file on local
 * disk through a hasher (sha256/sha512/sha1/md5/size in one pass). Nothing is held
 * whole in memory, and a part over MAX_UPLOAD_SIZE aborts with 413 and is deleted.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import busboy from 'busboy';
import { BadRequestError, TooLargeError, UnsupportedMediaError } from '../core/errors';
import { checkFileName } from '../core/names';
import type { UploadedFile } from '../core/provider';
import { MultiHasher } from '../util/hash';

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
    bb = busboy({ headers: req.headers, limits: { files: opts.maxFiles ?? opts.fileFields.length, fields: 200, fieldSize: 1 << 20, fileSize: opts.maxFileSize, parts: 400 }, defParamCharset: 'utf8' });
  } catch (e) {
    throw new BadRequestError(`malformed multipart request: ${(e as Error).message}`);
  }
  const writes: Promise<void>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe(bb);
        req.resume();
        reject(e);
      };
      bb.on('field', (name, value) => {
        result.fields[name] = value;
        (result.multiFields[name] ??= []).push(value);
      });
      bb.on('file', (field, stream, info) => {
        if (!opts.fileFields.includes(field)) {
          stream.resume();
          fail(new BadRequestError(`unexpected file field "${field}"; the package goes in field "${opts.fileFields[0]}"`));
          return;
        }
        const repeatable = opts.repeatableFileFields?.includes(field) ?? false;
        if (result.fileLists[field]?.length && !repeatable) {
          stream.resume();
          fail(new BadRequestError(`file field "${field}" was sent twice`));
          return;
        }
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
        const hasher = new MultiHasher();
        const list = (result.fileLists[field] ??= []);
        const slot = list.length;
        list.length++;
        let truncated = false;
        stream.on('limit', () => {
          truncated = true;
        });
        const w = pipeline(stream, hasher, createWriteStream(tmp)).then(() => {
          if (truncated) throw new TooLargeError(`"${clientFilename || field}" is larger than MAX_UPLOAD_SIZE (${opts.maxFileSize} bytes)`);
          const received = { localPath: tmp, clientFilename, size: hasher.size, hashes: hasher.digests() };
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
      req.on('aborted', () => fail(new BadRequestError('the client closed the connection mid-upload')));
      req.pipe(bb);
    });
  } catch (e) {
    await Promise.allSettled(writes);
    await result.cleanup();
    throw e;
  }
  return result;
}
