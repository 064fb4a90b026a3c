import fs from 'node:fs/promises';

/** The first `n` bytes of a file (fewer if the file is shorter). */
export async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
