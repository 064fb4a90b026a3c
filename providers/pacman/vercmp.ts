/**
 * pacman's version order (`vercmp`, libalpm `alpm_pkg_vercmp`), as described in
 * docs/formats/pacman.md#version-order: split `[epoch:]version[-release]`, compare epoch, then
 * version, then release (only when both sides have one) with the rpmvercmp segment rules.
 *
 * Works on bytes, not UTF-16 units: the reference compares C strings with the C locale's
 * isdigit/isalpha, so anything outside ASCII letters and digits is a separator, and letter
 * segments compare like strcmp (unsigned bytes).
 */

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);

/** strcmp-like sign for two byte ranges. */
function compareBytes(a: Buffer, b: Buffer): number {
  const r = Buffer.compare(a, b);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/** The rpmvercmp segment comparison of one component (epoch, version or release). */
export function rpmvercmp(aStr: string, bStr: string): number {
  if (aStr === bStr) return 0;
  const a = Buffer.from(aStr, 'utf8');
  const b = Buffer.from(bStr, 'utf8');
  // i/j: start of the unread part; after skipping separators they point at a segment start.
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const sepStartA = i;
    const sepStartB = j;
    while (i < a.length && !isAlnum(a[i]!)) i++;
    while (j < b.length && !isAlnum(b[j]!)) j++;
    if (i >= a.length || j >= b.length) break;
    // A longer run of separators wins (e.g. `1..0` > `1.0`).
    const sepA = i - sepStartA;
    const sepB = j - sepStartB;
    if (sepA !== sepB) return sepA < sepB ? -1 : 1;

    // The segment type is decided by a's first character; b's segment is taken with the same class.
    const numeric = isDigit(a[i]!);
    const inClass = numeric ? isDigit : isAlpha;
    let endA = i;
    let endB = j;
    while (endA < a.length && inClass(a[endA]!)) endA++;
    while (endB < b.length && inClass(b[endB]!)) endB++;
    // b has a segment of the other type here: digits beat letters.
    if (endB === j) return numeric ? 1 : -1;

    let segA = a.subarray(i, endA);
    let segB = b.subarray(j, endB);
    if (numeric) {
      // Numbers: ignore leading zeros, then more digits wins, then compare digit by digit.
      let za = 0;
      let zb = 0;
      while (za < segA.length && segA[za] === 0x30) za++;
      while (zb < segB.length && segB[zb] === 0x30) zb++;
      segA = segA.subarray(za);
      segB = segB.subarray(zb);
      if (segA.length !== segB.length) return segA.length > segB.length ? 1 : -1;
    }
    const c = compareBytes(segA, segB);
    if (c !== 0) return c;
    i = endA;
    j = endB;
  }
  const restA = i < a.length;
  const restB = j < b.length;
  // Everything compared equal (possibly with different separator characters).
  if (!restA && !restB) return 0;
  // A leftover letter segment is older than nothing (`1.0a` < `1.0`); any other leftover is newer.
  if ((!restA && !isAlpha(b[j]!)) || (restA && isAlpha(a[i]!))) return -1;
  return 1;
}

export interface Evr {
  epoch: string;
  version: string;
  release: string | null;
}

/** Split `[epoch:]version[-release]`: the epoch is the leading digits before `:`, the release follows the last `-`. */
export function parseEvr(full: string): Evr {
  let k = 0;
  while (k < full.length && isDigit(full.charCodeAt(k))) k++;
  let epoch = '0';
  let rest = full;
  if (full[k] === ':') {
    epoch = k === 0 ? '0' : full.slice(0, k);
    rest = full.slice(k + 1);
  }
  // The release separator is searched after the epoch digits, like the reference does.
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: null };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** pacman's `vercmp a b`: -1 if a is older, 0 if equal, 1 if a is newer. */
export function vercmp(a: string, b: string): number {
  if (a === b) return 0;
  const x = parseEvr(a);
  const y = parseEvr(b);
  let r = rpmvercmp(x.epoch, y.epoch);
  if (r === 0) {
    r = rpmvercmp(x.version, y.version);
    if (r === 0 && x.release !== null && y.release !== null) r = rpmvercmp(x.release, y.release);
  }
  return r;
}
