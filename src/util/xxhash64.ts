/**
 * Streaming XXH64 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), needed
 * because a zstd frame's optional Content_Checksum is the low 32 bits of XXH64 (seed 0)
 * of the frame's decompressed content (RFC 8878 section 3.1.1), and zstd, bsdtar, pacman
 * and dpkg refuse a frame whose checksum does not match.
 *
 * 64-bit values are pairs of unsigned 32-bit halves kept in one Uint32Array (hi at even,
 * lo at odd index) rather than BigInt: BigInt allocates per operation and runs at a few
 * MB/s, far too slow for package payloads.
 */

// The five 64-bit primes of the spec, hi then lo.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

/** High 32 bits of the 64-bit product of two uint32 (exact: every partial sum stays below 2^53). */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const mid = a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16);
  return (a1 * b1 + Math.floor(mid / 65536)) >>> 0;
}

/** s[i..i+1] *= (yh, yl) mod 2^64 */
function mul(s: Uint32Array, i: number, yh: number, yl: number): void {
  const xh = s[i]!, xl = s[i + 1]!;
  s[i] = mulHi32(xl, yl) + Math.imul(xh, yl) + Math.imul(xl, yh);
  s[i + 1] = Math.imul(xl, yl);
}

/** s[i..i+1] += (yh, yl) mod 2^64 */
function add(s: Uint32Array, i: number, yh: number, yl: number): void {
  const lo = s[i + 1]! + yl;
  s[i] = s[i]! + yh + (lo > 0xffffffff ? 1 : 0);
  s[i + 1] = lo;
}

/** s[i..i+1] = rotl(s[i..i+1], r), 0 < r < 32 */
function rotl(s: Uint32Array, i: number, r: number): void {
  const hi = s[i]!, lo = s[i + 1]!;
  s[i] = (hi << r) | (lo >>> (32 - r));
  s[i + 1] = (lo << r) | (hi >>> (32 - r));
}

/** s[i..i+1] ^= s[i..i+1] >> r, 0 < r < 64 */
function xorShift(s: Uint32Array, i: number, r: number): void {
  const hi = s[i]!, lo = s[i + 1]!;
  if (r < 32) {
    s[i + 1] = lo ^ ((lo >>> r) | (hi << (32 - r)));
    s[i] = hi ^ (hi >>> r);
  } else {
    s[i + 1] = lo ^ (hi >>> (r - 32));
  }
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1, with the lane in s[t..t+1] (clobbered). */
function round(s: Uint32Array, acc: number, t: number): void {
  mul(s, t, P2H, P2L);
  add(s, acc, s[t]!, s[t + 1]!);
  rotl(s, acc, 31);
  mul(s, acc, P1H, P1L);
}

// State layout: v1..v4 at 0, 2, 4, 6; acc at 8; scratch at 10 and 12.
const ACC = 8;
const T = 10;

export class Xxh64 {
  private readonly s = new Uint32Array(14);
  /** Up to 31 bytes not yet forming a full 32-byte stripe. */
  private readonly tail = new Uint8Array(32);
  private readonly tailView = new DataView(this.tail.buffer);
  private tailLen = 0;
  private total = 0;

  constructor() {
    const s = this.s;
    // seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1 = ~P1 + 1
    s[0] = P1H; s[1] = P1L; add(s, 0, P2H, P2L);
    s[2] = P2H; s[3] = P2L;
    s[6] = ~P1H; s[7] = ~P1L; add(s, 6, 0, 1);
  }

  private stripes(dv: DataView, p: number, end: number): void {
    const s = this.s;
    for (; p + 32 <= end; p += 32) {
      for (let lane = 0; lane < 4; lane++) {
        s[T] = dv.getUint32(p + lane * 8 + 4, true);
        s[T + 1] = dv.getUint32(p + lane * 8, true);
        round(s, lane * 2, T);
      }
    }
  }

  update(data: Uint8Array): this {
    this.total += data.length;
    let p = 0;
    if (this.tailLen > 0) {
      const n = Math.min(32 - this.tailLen, data.length);
      this.tail.set(data.subarray(0, n), this.tailLen);
      this.tailLen += n;
      p = n;
      if (this.tailLen < 32) return this;
      this.stripes(this.tailView, 0, 32);
      this.tailLen = 0;
    }
    const full = p + Math.floor((data.length - p) / 32) * 32;
    if (full > p) this.stripes(new DataView(data.buffer, data.byteOffset, data.byteLength), p, full);
    if (full < data.length) {
      this.tail.set(data.subarray(full), 0);
      this.tailLen = data.length - full;
    }
    return this;
  }

  /** Low 32 bits of the digest: what a zstd frame's Content_Checksum holds. */
  digestLow32(): number {
    return this.digest()[1];
  }

  /** The 64-bit digest as [hi, lo]. Call once. */
  digest(): [number, number] {
    const s = this.s;
    if (this.total >= 32) {
      s[ACC] = 0; s[ACC + 1] = 0;
      for (const [v, r] of [[0, 1], [2, 7], [4, 12], [6, 18]] as const) {
        s[T] = s[v]!; s[T + 1] = s[v + 1]!;
        rotl(s, T, r);
        add(s, ACC, s[T]!, s[T + 1]!);
      }
      for (const v of [0, 2, 4, 6]) {
        // acc = (acc ^ round(0, v)) * P1 + P4
        s[T + 2] = 0; s[T + 3] = 0; // zero accumulator at 12
        s[T] = s[v]!; s[T + 1] = s[v + 1]!;
        round(s, T + 2, T);
        s[ACC] ^= s[T + 2]!; s[ACC + 1] ^= s[T + 3]!;
        mul(s, ACC, P1H, P1L);
        add(s, ACC, P4H, P4L);
      }
    } else {
      s[ACC] = P5H; s[ACC + 1] = P5L;
    }
    add(s, ACC, Math.floor(this.total / 2 ** 32), this.total >>> 0); // length mod 2^64 (lengths stay below 2^53)
    const dv = this.tailView;
    let p = 0;
    for (; p + 8 <= this.tailLen; p += 8) {
      s[T + 2] = 0; s[T + 3] = 0;
      s[T] = dv.getUint32(p + 4, true); s[T + 1] = dv.getUint32(p, true);
      round(s, T + 2, T);
      s[ACC] ^= s[T + 2]!; s[ACC + 1] ^= s[T + 3]!;
      rotl(s, ACC, 27);
      mul(s, ACC, P1H, P1L);
      add(s, ACC, P4H, P4L);
    }
    if (p + 4 <= this.tailLen) {
      s[T] = 0; s[T + 1] = dv.getUint32(p, true);
      mul(s, T, P1H, P1L);
      s[ACC] ^= s[T]!; s[ACC + 1] ^= s[T + 1]!;
      // rotl 23 then * P2 + P3
      rotl(s, ACC, 23);
      mul(s, ACC, P2H, P2L);
      add(s, ACC, P3H, P3L);
      p += 4;
    }
    for (; p < this.tailLen; p++) {
      s[T] = 0; s[T + 1] = this.tail[p]!;
      mul(s, T, P5H, P5L);
      s[ACC] ^= s[T]!; s[ACC + 1] ^= s[T + 1]!;
      rotl(s, ACC, 11);
      mul(s, ACC, P1H, P1L);
    }
    xorShift(s, ACC, 33);
    mul(s, ACC, P2H, P2L);
    xorShift(s, ACC, 29);
    mul(s, ACC, P3H, P3L);
    xorShift(s, ACC, 32);
    return [s[ACC]!, s[ACC + 1]!];
  }
}
