/**
 * Alpine version ordering, as apk-tools implements it (src/version.c, both 2.14 and 3.x;
 * docs/formats/apk.md#version-order). A version is
 *
 *   digits{.digits}...{letter}{_suffix{digits}}...{~hexhash}{-r digits}
 *
 * and is compared token by token. This is an independent re-implementation of the rules,
 * not a translation of apk's code:
 * - the first number and every suffix/revision number compare numerically;
 * - a later dotted number compares as a string (byte order, then length) when either side
 *   has a leading zero (Gentoo rule: `8.2.0 < 8.2.001`), otherwise numerically;
 * - letters compare by character, suffixes by rank
 *   `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`, hashes as strings;
 * - when one side runs out first, a pre-release suffix on the longer side makes it older;
 *   otherwise the side whose next token kind ranks lower (more specific) is newer, so
 *   `1.0.1 > 1.0a > 1.0 > 1.0_rc1` and a malformed tail sorts below the end of a version.
 */

/** Token kinds in apk's order: the order matters when one version is a prefix of the other. */
const enum Kind {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNumber = 4,
  CommitHash = 5,
  Revision = 6,
  End = 7,
  Invalid = 8,
}

/** Suffix ranks; 4 is the implicit "no suffix" (a release). */
const SUFFIX_RANK: Readonly<Record<string, number>> = {
  alpha: 0,
  beta: 1,
  pre: 2,
  rc: 3,
  cvs: 5,
  svn: 6,
  git: 7,
  hg: 8,
  p: 9,
};
const RANK_RELEASE = 4;

interface Token {
  kind: Kind;
  text: string;
  /** Suffix rank for Kind.Suffix. */
  rank: number;
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLower = (c: string) => c >= 'a' && c <= 'z';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f');

function span(s: string, from: number, ok: (c: string) => boolean): number {
  let i = from;
  while (i < s.length && ok(s[i]!)) i++;
  return i;
}

/** Split a version into tokens; the list always ends with an End or Invalid token. */
function tokenize(v: string): Token[] {
  const out: Token[] = [];
  const push = (kind: Kind, text = '', rank = 0) => out.push({ kind, text, rank });
  let i = span(v, 0, isDigit);
  if (i === 0) {
    push(Kind.Invalid);
    return out;
  }
  push(Kind.InitialDigit, v.slice(0, i));
  let prev: Kind = Kind.InitialDigit;
  for (;;) {
    if (i >= v.length) {
      push(Kind.End);
      return out;
    }
    const c = v[i]!;
    let kind: Kind = Kind.Invalid;
    let text = '';
    let rank = 0;
    if (isLower(c) && prev <= Kind.Digit) {
      kind = Kind.Letter;
      text = c;
      i++;
    } else if ((c === '.' && prev <= Kind.Digit) || (isDigit(c) && (prev <= Kind.Digit || prev === Kind.Suffix))) {
      if (c === '.') i++;
      const end = span(v, i, isDigit);
      if (end > i) {
        kind = prev === Kind.Suffix ? Kind.SuffixNumber : Kind.Digit;
        text = v.slice(i, end);
      }
      i = end;
    } else if (c === '_' && prev <= Kind.SuffixNumber) {
      const end = span(v, i + 1, isLower);
      text = v.slice(i + 1, end);
      const r = SUFFIX_RANK[text];
      if (r !== undefined) {
        kind = Kind.Suffix;
        rank = r;
      }
      i = end;
    } else if (c === '~' && prev < Kind.CommitHash) {
      const end = span(v, i + 1, isHex);
      if (end > i + 1) {
        kind = Kind.CommitHash;
        text = v.slice(i + 1, end);
      }
      i = end;
    } else if (c === '-' && prev < Kind.Revision && v[i + 1] === 'r') {
      const end = span(v, i + 2, isDigit);
      if (end > i + 2) {
        kind = Kind.Revision;
        text = v.slice(i + 2, end);
      }
      i = end;
    }
    push(kind, text, rank);
    if (kind === Kind.Invalid) return out;
    prev = kind;
  }
}

/** Byte-wise string order, shorter first on a common prefix (apk_blob_sort). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric order of two decimal digit strings of any length. */
function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return compareStrings(x, y);
}

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case Kind.Digit:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return compareStrings(a.text, b.text);
      return compareNumbers(a.text, b.text);
    case Kind.InitialDigit:
    case Kind.SuffixNumber:
    case Kind.Revision:
      return compareNumbers(a.text, b.text);
    case Kind.Suffix:
      return Math.sign(a.rank - b.rank);
    default:
      // letters and commit hashes
      return compareStrings(a.text, b.text);
  }
}

/** apk version order: negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareApkVersions(a: string, b: string): number {
  const ta = tokenize(a);
  const tb = tokenize(b);
  let i = 0;
  while (ta[i]!.kind === tb[i]!.kind && ta[i]!.kind < Kind.End) {
    const r = compareTokens(ta[i]!, tb[i]!);
    if (r !== 0) return r;
    i++;
  }
  const x = ta[i]!;
  const y = tb[i]!;
  if (x.kind === y.kind) return 0;
  // Equal so far: a pre-release suffix makes the longer version older ...
  if (x.kind === Kind.Suffix && x.rank < RANK_RELEASE) return -1;
  if (y.kind === Kind.Suffix && y.rank < RANK_RELEASE) return 1;
  // ... otherwise the side that continues with a more specific token is newer.
  return x.kind > y.kind ? -1 : 1;
}

/** Is `v` a well-formed apk version (what abuild and `apk version -c` accept)? */
export function isValidApkVersion(v: string): boolean {
  const t = tokenize(v);
  return t[t.length - 1]!.kind === Kind.End;
}
