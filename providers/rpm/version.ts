/**
 * rpm's version order (docs/formats/rpm.md#version-order): rpmvercmp from rpm 4.18's
 * rpmio/rpmvercmp.c, and the `[E:]V[-R]` comparison of rpmio/rpmver.c (rpmverParse,
 * rpmverCmp), which is what `rpm.vercmp()` in rpm's Lua and dnf use.
 */

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;
const END = -1;

/** rpmvercmp(a, b): -1, 0 or 1. Only ASCII letters and digits count; everything else separates. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  const at = (s: string, i: number) => (i < s.length ? s.charCodeAt(i) : END);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isDigit(at(a, i)) && !isAlpha(at(a, i)) && at(a, i) !== TILDE && at(a, i) !== CARET) i++;
    while (j < b.length && !isDigit(at(b, j)) && !isAlpha(at(b, j)) && at(b, j) !== TILDE && at(b, j) !== CARET) j++;
    const ca = at(a, i);
    const cb = at(b, j);
    // `~` sorts before everything, even the end of the string.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // `^` sorts after the end of the string but before anything else.
    if (ca === CARET || cb === CARET) {
      if (ca === END) return -1;
      if (cb === END) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === END || cb === END) break;
    const numeric = isDigit(ca);
    const test = numeric ? isDigit : isAlpha;
    let ei = i;
    while (ei < a.length && test(at(a, ei))) ei++;
    let ej = j;
    while (ej < b.length && test(at(b, ej))) ej++;
    // The other side's segment is of the other kind (empty here): numbers beat letters.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface Evr {
  /** null when the string has no `E:` (compared as "0"). */
  epoch: string | null;
  version: string;
  /** null when the string has no `-R` (compared as ""). */
  release: string | null;
}

/** rpmverParse: leading digits then `:` are the epoch (an empty one is "0"); the release follows the last `-`. */
export function parseEvr(evr: string): Evr {
  let s = 0;
  while (s < evr.length && isDigit(evr.charCodeAt(s))) s++;
  let epoch: string | null = null;
  let rest = evr;
  if (evr[s] === ':') {
    epoch = evr.slice(0, s) || '0';
    rest = evr.slice(s + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: null };
}

/** rpm.vercmp on two `[E:]V[-R]` strings; newest last. */
export function compareEvr(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  // A missing release compares as "" (rpm.vercmp("1.0-1", "1.0") is 1 in rpm 4.18).
  return rpmvercmp(x.epoch ?? '0', y.epoch ?? '0') || rpmvercmp(x.version, y.version) || rpmvercmp(x.release ?? '', y.release ?? '');
}
