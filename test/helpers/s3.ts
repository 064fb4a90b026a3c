import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
// s3rver ships no types
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

export interface S3rverHandle {
  /** S3_URL in the seed's form for a bucket (created by the server on first use). */
  url(bucket: string): string;
  stop(): Promise<void>;
}

/** s3rver in-process on loopback: a real S3 protocol peer, no Docker. */
export async function startS3rver(): Promise<S3rverHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, resetOnClose: true });
  const addr = (await server.run()) as AddressInfo;
  return {
    url: (bucket) => `http://S3RVER:S3RVER@127.0.0.1:${addr.port}/${bucket}`,
    async stop() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
