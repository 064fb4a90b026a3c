/**
 * Synchronous, push-based zstd decoding with the checks the reference decoder makes and
 * fzstd does not (RFC 8878; zstd's lib/decompress/zstd_decompress.c):
 *
 * - each frame header is parsed here before fzstd sees it, and a frame whose window exceeds
 *   ZSTD_WINDOW_MAX is refused: fzstd allocates whatever window the header declares (up to
 *   2 GiB) and moves it once per block, so a 262-byte file could take gigabytes and
 *   seconds per block;
 * - block headers are walked (type, size <= Block_Maximum_Size = min(window, 128 KiB));
 * - Frame_Content_Size, when declared, must match the output;
 * - Content_Checksum (low 32 bits of XXH64 of the frame's output) is verified;
 * - dictionaries are refused (nothing we read uses them and fzstd cannot apply them);
 * - skippable frames are skipped; output is capped at `maxOutput`.
 *
 * It runs inside src/util/zstd-worker.ts, off the event loop, with a time budget there.
 */
import { Decompress } from 'fzstd';
import { Xxh64 } from './xxhash64';

/**
 * zstd's default decompression memory limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27, what `zstd -d`,
 * libarchive and dpkg accept without `--memory`/`--long`): frames needing a larger window are
 * what those clients refuse too ("Frame requires too much memory").
 */
export const ZSTD_WINDOW_MAX = 1 << 27;
const BLOCK_MAX = 128 * 1024;
const MAGIC = 0xfd2fb528;

/** A decoding failure caused by the data (not by us): becomes InvalidPackageError upstream. */
export class ZstdDataError extends Error {}

interface Frame {
  window: number;
  blockMax: number;
  checksum: boolean;
  contentSize: number | undefined;
  /** Bytes of this frame still to pass through the current block body. */
  output: number;
  hash: Xxh64;
  dec: Decompress;
}

type State = 'magic' | 'frameHeader' | 'blockHeader' | 'blockBody' | 'checksum' | 'skipHeader' | 'skip';

export class ZstdStreamDecoder {
  private state: State = 'magic';
  /** Bytes of a small structure (magic, header, block header, checksum) collected so far. */
  private pending = Buffer.alloc(0);
  private need = 4;
  private frame: Frame | undefined;
  private bodyLeft = 0;
  private lastBlock = false;
  private skipLeft = 0;
  private frames = 0;
  private total = 0;

  constructor(
    private readonly onData: (chunk: Uint8Array) => void,
    private readonly maxOutput: number,
  ) {}

  get outputBytes(): number {
    return this.total;
  }

  /** Window size of the frame being decoded (0 between frames). */
  get currentWindow(): number {
    return this.frame?.window ?? 0;
  }

  private fail(msg: string): never {
    throw new ZstdDataError(msg);
  }

  /** Collect up to `need` bytes of a small structure; returns bytes consumed from `b` at `p`. */
  private collect(b: Buffer, p: number): number {
    const n = Math.min(this.need - this.pending.length, b.length - p);
    this.pending = Buffer.concat([this.pending, b.subarray(p, p + n)]);
    return n;
  }

  push(chunk: Uint8Array): void {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let p = 0;
    while (p < b.length) {
      switch (this.state) {
        case 'magic': {
          p += this.collect(b, p);
          if (this.pending.length < 4) return;
          const m = this.pending.readUInt32LE(0);
          if (m === MAGIC) {
            this.state = 'frameHeader';
            this.need = 6; // magic + descriptor + (window or FCS) byte: enough to know the full length
          } else if ((m & 0xfffffff0) >>> 0 === 0x184d2a50) {
            this.state = 'skipHeader';
            this.need = 8;
          } else {
            this.fail(this.frames === 0 ? 'not zstd data (bad magic number)' : `unknown data after zstd frame ${this.frames} (bad magic number)`);
          }
          break;
        }
        case 'skipHeader':
          p += this.collect(b, p);
          if (this.pending.length < 8) return;
          this.skipLeft = this.pending.readUInt32LE(4);
          this.pending = Buffer.alloc(0);
          this.state = 'skip';
          break;
        case 'skip': {
          const n = Math.min(this.skipLeft, b.length - p);
          this.skipLeft -= n;
          p += n;
          if (this.skipLeft === 0) this.nextFrame();
          break;
        }
        case 'frameHeader': {
          p += this.collect(b, p);
          if (this.pending.length < this.need) return;
          const full = this.headerLength(this.pending[4]!);
          if (this.pending.length < full) {
            this.need = full;
            break;
          }
          this.startFrame(this.pending);
          this.pending = Buffer.alloc(0);
          this.state = 'blockHeader';
          this.need = 3;
          break;
        }
        case 'blockHeader': {
          const start = p;
          p += this.collect(b, p);
          this.frame!.dec.push(b.subarray(start, p));
          if (this.pending.length < 3) return;
          const h = this.pending[0]! | (this.pending[1]! << 8) | (this.pending[2]! << 16);
          this.pending = Buffer.alloc(0);
          this.lastBlock = (h & 1) === 1;
          const type = (h >> 1) & 3;
          const size = h >>> 3;
          const f = this.frame!;
          if (type === 3) this.fail(`zstd frame ${this.frames + 1}: reserved block type`);
          if (size > f.blockMax) this.fail(`zstd frame ${this.frames + 1}: block of ${size} bytes exceeds the maximum of ${f.blockMax}`);
          this.bodyLeft = type === 1 ? 1 : size;
          this.state = 'blockBody';
          if (this.bodyLeft === 0) this.blockDone();
          break;
        }
        case 'blockBody': {
          const n = Math.min(this.bodyLeft, b.length - p);
          const part = b.subarray(p, p + n);
          p += n;
          this.bodyLeft -= n;
          this.frame!.dec.push(part);
          if (this.bodyLeft === 0) this.blockDone();
          break;
        }
        case 'checksum': {
          const start = p;
          p += this.collect(b, p);
          this.frame!.dec.push(b.subarray(start, p));
          if (this.pending.length < 4) return;
          const want = this.pending.readUInt32LE(0);
          this.pending = Buffer.alloc(0);
          this.endFrame(want);
          break;
        }
      }
    }
  }

  /** Total header length once its descriptor byte is known. */
  private headerLength(fhd: number): number {
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const did = [0, 1, 2, 4][fhd & 3]!;
    const fcs = fcsFlag === 0 ? single : 1 << fcsFlag;
    return 5 + (single ? 0 : 1) + did + fcs;
  }

  private startFrame(h: Buffer): void {
    const n = this.frames + 1;
    const fhd = h[4]!;
    if (fhd & 0x08) this.fail(`zstd frame ${n}: reserved bit set in the frame header`);
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const didSize = [0, 1, 2, 4][fhd & 3]!;
    let pos = 5;
    let window = 0;
    if (!single) {
      const wd = h[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    let dict = 0;
    for (let i = 0; i < didSize; i++) dict += h[pos + i]! * 2 ** (8 * i);
    pos += didSize;
    const fcsSize = fcsFlag === 0 ? single : 1 << fcsFlag;
    let contentSize: number | undefined;
    if (fcsSize > 0) {
      let v = 0;
      for (let i = 0; i < fcsSize; i++) v += h[pos + i]! * 2 ** (8 * i);
      contentSize = fcsSize === 2 ? v + 256 : v;
    }
    if (single) window = contentSize!;
    if (dict !== 0) this.fail(`zstd frame ${n} needs dictionary ${dict}; dictionaries are not supported`);
    if (window > ZSTD_WINDOW_MAX) {
      this.fail(`zstd frame ${n} requires a ${window}-byte window, more than the ${ZSTD_WINDOW_MAX} bytes zstd decoders accept by default (decompression bomb?)`);
    }
    const frame: Frame = {
      window,
      blockMax: Math.min(window, BLOCK_MAX),
      checksum: (fhd & 0x04) !== 0,
      contentSize,
      output: 0,
      hash: new Xxh64(),
      dec: new Decompress((chunk) => {
        if (chunk.length === 0) return;
        frame.output += chunk.length;
        this.total += chunk.length;
        if (this.total > this.maxOutput) this.fail(`zstd data expands beyond ${this.maxOutput} bytes (decompression bomb?)`);
        if (contentSize !== undefined && frame.output > contentSize) this.fail(`zstd frame ${n} is larger than its declared content size ${contentSize}`);
        if (frame.checksum) frame.hash.update(chunk);
        this.onData(chunk);
      }),
    };
    this.frame = frame;
    frame.dec.push(h);
  }

  private blockDone(): void {
    if (!this.lastBlock) {
      this.state = 'blockHeader';
      this.need = 3;
    } else if (this.frame!.checksum) {
      this.state = 'checksum';
      this.need = 4;
    } else {
      this.endFrame(undefined);
    }
  }

  private endFrame(checksum: number | undefined): void {
    const f = this.frame!;
    const n = this.frames + 1;
    // The walk says the frame is complete: a final push makes fzstd decode whatever it still
    // holds back (it waits for 18 bytes before parsing a header, so tiny frames sit there).
    f.dec.push(new Uint8Array(0), true);
    if (f.contentSize !== undefined && f.output !== f.contentSize) {
      this.fail(`zstd frame ${n} decodes to ${f.output} bytes, its header declares ${f.contentSize}`);
    }
    if (checksum !== undefined && f.hash.digestLow32() !== checksum) {
      this.fail(`zstd frame ${n} fails its content checksum (corrupt data)`);
    }
    this.frame = undefined;
    this.nextFrame();
  }

  private nextFrame(): void {
    this.frames++;
    this.state = 'magic';
    this.need = 4;
    this.pending = Buffer.alloc(0);
  }

  /** End of input: it must end between frames, after at least one. */
  end(): void {
    if (this.state === 'magic' && this.pending.length === 0 && this.frames > 0) return;
    this.fail(this.frames === 0 && this.state === 'magic' ? 'zstd data is empty or truncated' : `zstd data is truncated (inside frame ${this.frames + 1})`);
  }
}

/** fzstd throws plain Errors (with a numeric `code`) for corrupt blocks: name them as data errors. */
export function asDataError(e: unknown): Error {
  if (e instanceof ZstdDataError) return e;
  if (e instanceof Error && (typeof (e as { code?: unknown }).code === 'number' || e instanceof RangeError || e instanceof TypeError)) {
    return new ZstdDataError(`zstd data is corrupt: ${e.message}`);
  }
  return e as Error;
}
