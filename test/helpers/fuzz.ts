/**
 * Seeded mutation fuzzing helpers: a small deterministic PRNG (mulberry32, so a failing case
 * is reproduced by its seed and index), mutations of a valid input (truncations, bit flips,
 * overwritten bytes and runs), and a bound on how long one input may take to settle.
 */
import { DomainError } from '../../src/core/errors';

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Mutant {
  bytes: Buffer;
  /** How it was made, for failure messages. */
  how: string;
}

/** `count` mutants of `valid`: about a third truncations, the rest bit flips and overwrites. */
export function mutants(valid: Buffer, count: number, seed: number): Mutant[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const out: Mutant[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const len = int(valid.length);
      out.push({ bytes: Buffer.from(valid.subarray(0, len)), how: `truncated to ${len} of ${valid.length} bytes` });
      continue;
    }
    const b = Buffer.from(valid);
    const edits: string[] = [];
    const n = 1 + int(kind === 1 ? 3 : 8);
    for (let k = 0; k < n; k++) {
      // Headers live at the start: aim half the edits at the first 1 KiB.
      const pos = rand() < 0.5 ? int(Math.min(1024, b.length)) : int(b.length);
      if (kind === 1) {
        const bit = int(8);
        b[pos] ^= 1 << bit;
        edits.push(`flip ${pos}.${bit}`);
      } else {
        const run = 1 + int(8);
        const v = rand() < 0.5 ? 0xff : int(256);
        b.fill(v, pos, Math.min(b.length, pos + run));
        edits.push(`set ${pos}+${run}=${v}`);
      }
    }
    out.push({ bytes: b, how: edits.join(', ') });
  }
  return out;
}

export type Outcome = { ok: true } | { ok: false; error: unknown };

/** Settle `p` within `ms`, or throw saying that the input hung. */
export async function withinTime<T>(p: Promise<T>, ms: number, what: string): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p.then((): Outcome => ({ ok: true }), (error: unknown): Outcome => ({ ok: false, error })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error a parser may legitimately reject bad input with: a 4xx DomainError. */
export function isClientError(e: unknown): boolean {
  return e instanceof DomainError && e.status >= 400 && e.status < 500;
}
