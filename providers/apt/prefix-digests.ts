/**
 * Release's digests (MD5Sum, SHA1, SHA256, SHA512) and the gzip CRC32 of a segmented Packages
 * file, fed one segment at a time, remembering the states after every segment (issue 19).
 *
 * A large Packages file is not published, but Release must still list its size and digests
 * (docs/formats/apt.md#segmented-compression): at 100,000 packages that was ~100 MB through
 * four hashes on every publish. The states after segment k depend only on the bytes of
 * segments 0..k, so they are memoized by a chain of the segments' sha256 (which the
 * compression memo computes anyway, providers/apt/segments.ts): chain(k) =
 * sha256(chain(k-1) + sha256(segment k)). A publish after one upload finds the chain of every
 * segment before the changed one and hashes from there on. A miss only costs time: the digests
 * are the same as hashing the whole file in one go, in every process.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

interface State {
  hashes: crypto.Hash[];
  crc: number;
}

const memo = new Map<string, State>();
/** Bound of the per-process memo, in states (one a segment: a 100,000-package file has ~800). */
export const PREFIX_MEMO_MAX = 4096;

/** Empties the memo (tests: a cold process must produce the same Release as a warm one). */
export function forgetPrefixDigests(): void {
  memo.clear();
}

/** How many prefix states are memoized (tests). */
export function prefixMemoSize(): number {
  return memo.size;
}

const nextChain = (chain: string, sha256: string) => crypto.createHash('sha256').update(`${chain}\n${sha256}`).digest('hex');
const copy = (s: State): State => ({ hashes: s.hashes.map((h) => h.copy()), crc: s.crc });
const fresh = (algos: readonly string[]): State => ({ hashes: algos.map((a) => crypto.createHash(a)), crc: 0 });

export class PrefixDigests {
  private chain: string;
  /** While every segment so far was memoized: the state after the last of them. */
  private known: State | null = null;
  /** From the first segment not memoized on: this file's own running state. */
  private live: State | null = null;
  private total = 0;
  /** Segments hashed (not taken from the memo). */
  hashed = 0;

  constructor(private readonly algos: readonly string[]) {
    this.chain = algos.join(',');
  }

  /**
   * The next segment by the sha256 of its bytes and its size alone, when nothing was hashed yet
   * and the state after it is memoized: true. Otherwise false, and nothing changed (`add` it).
   */
  skip(sha256: string, size: number): boolean {
    if (this.live) return false;
    const chain = nextChain(this.chain, sha256);
    const hit = memo.get(chain);
    if (!hit) return false;
    memo.delete(chain); // most recently used last
    memo.set(chain, hit);
    this.chain = chain;
    this.known = hit;
    this.total += size;
    return true;
  }

  /** The next segment: the sha256 (hex) of its bytes, and the bytes. */
  add(sha256: string, plain: Buffer): void {
    this.chain = nextChain(this.chain, sha256);
    this.total += plain.length;
    if (!this.live) {
      const hit = memo.get(this.chain);
      if (hit) {
        memo.delete(this.chain); // most recently used last
        memo.set(this.chain, hit);
        this.known = hit;
        return;
      }
      this.live = this.known ? copy(this.known) : fresh(this.algos);
    }
    for (const h of this.live.hashes) h.update(plain);
    this.live.crc = zlib.crc32(plain, this.live.crc);
    this.hashed++;
    memo.set(this.chain, copy(this.live));
    for (const k of memo.keys()) {
      if (memo.size <= PREFIX_MEMO_MAX) break;
      memo.delete(k);
    }
  }

  /** Size, CRC32 and hex digests (by algorithm) of all the segments added. */
  finish(): { size: number; crc: number; digests: Record<string, string> } {
    // Stored states are never finalized: digest() ends a hash, so only copies are digested.
    const s = this.live ?? (this.known ? copy(this.known) : fresh(this.algos));
    const digests: Record<string, string> = {};
    this.algos.forEach((a, i) => (digests[a] = s.hashes[i]!.digest('hex')));
    return { size: this.total, crc: s.crc, digests };
  }
}
