/**
 * Hand-made zstd frames for the inputs the zstd CLI never writes (RFC 8878 section 3.1.1):
 * a frame header declaring a given window, followed by RLE blocks (3-byte block header:
 * bit 0 last block, bits 1-2 type 1 = RLE, bits 3-23 regenerated size; then one byte).
 */
export function windowDescriptor(windowLog: number, mantissa = 0): number {
  return ((windowLog - 10) << 3) | mantissa;
}

/** A frame without checksum or content size: `blocks` RLE blocks of `blockSize` bytes of `byte`. */
export function rleFrame(wd: number, blocks: number, blockSize: number, byte = 0x61): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd])];
  for (let i = 0; i < blocks; i++) {
    const h = ((i === blocks - 1 ? 1 : 0) | (1 << 1) | (blockSize << 3)) >>> 0;
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, byte]));
  }
  return Buffer.concat(parts);
}

/**
 * The bomb of issue 13: 262 bytes, a frame declaring a ~1.9 GiB window (fzstd allocates it and
 * moves it once per block) and 64 RLE blocks of 128 KiB.
 */
export function windowBomb(): Buffer {
  return rleFrame(windowDescriptor(30, 7), 64, 128 * 1024);
}
