/**
 * POST a multipart/form-data body streamed from files on disk. The framing is built by
 * hand around fs.createReadStream with an exact Content-Length (RFC 7578), so memory
 * stays flat for multi-GB packages and the progress bar counts the bytes as they go.
 * fetch + FormData would buffer whole files; node:http does not.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, EXIT } from './errors';
import type { Progress } from './progress';

export interface FilePart {
  field: string;
  /** Local path to stream from. */
  path: string;
  /** File name sent in Content-Disposition (the base name). */
  filename: string;
  size: number;
}

export interface RawResponse {
  status: number;
  statusText: string;
  body: string;
}

/** RFC 7578 4.2 / WHATWG form encoding: quote, CR and LF are percent-escaped in the name. */
function dispositionName(s: string): string {
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

const MAX_RESPONSE = 4 << 20;

export async function postMultipart(url: string, headers: Record<string, string>, parts: FilePart[], progress: Progress): Promise<RawResponse> {
  const boundary = `----rpcli-${crypto.randomBytes(16).toString('hex')}`;
  const heads = parts.map((p) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${dispositionName(p.field)}"; filename="${dispositionName(p.filename)}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
      'utf8',
    ),
  );
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length = parts.reduce((n, p, i) => n + heads[i].length + p.size + 2, 0) + tail.length;

  async function* body(): AsyncGenerator<Buffer> {
    for (const [i, p] of parts.entries()) {
      yield heads[i];
      let sent = 0;
      for await (const chunk of fs.createReadStream(p.path, { highWaterMark: 256 * 1024 })) {
        const b = chunk as Buffer;
        sent += b.length;
        // Content-Length is already on the wire: a file that grows or shrinks now cannot be sent.
        if (sent > p.size) throw new CliError(`${p.path} changed while it was being uploaded`);
        progress.add(b.length);
        yield b;
      }
      if (sent !== p.size) throw new CliError(`${p.path} changed while it was being uploaded`);
      yield Buffer.from('\r\n');
    }
    yield tail;
    progress.finish();
  }

  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const source = Readable.from(body());
    const req = mod.request(u, {
      method: 'POST',
      headers: { ...headers, Accept: 'application/json', 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(length) },
    });
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      progress.abort();
      source.destroy();
      req.destroy();
      reject(e);
    };
    req.on('response', (res) => {
      // The server may answer before the body is sent (403 on the query, 413): read its
      // answer, then stop sending.
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_RESPONSE) chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        if (res.statusCode && res.statusCode >= 400) progress.abort();
        else progress.finish();
        source.destroy();
        req.destroy();
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    // A write error or a closed socket may come just before the server's answer (it
    // refused the upload and hung up): give the answer a moment to arrive first.
    const failSoon = (e: unknown) => setTimeout(() => fail(e), 300);
    req.on('error', failSoon);
    req.on('close', () => failSoon(new CliError('the server closed the connection without an answer', EXIT.CONNECTION)));
    pipeline(source, req).catch(failSoon);
  });
}
