/**
 * Version order for formats without their own rules: dotted numeric segments compare
 * numerically, text segments lexically, and a pre-release tail (`1.0rc1`, `1.0-beta`)
 * sorts before the bare release, like most ecosystems do.
 */
const PRE = /^(a|alpha|b|beta|c|rc|pre|preview|dev)$/i;

function tokens(v: string): (string | number)[] {
  return (v.match(/\d+|[A-Za-z]+/g) ?? []).map((t) => (/^\d+$/.test(t) ? Number(t) : t.toLowerCase()));
}

export function compareLooseVersions(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined) return typeof y === 'string' && PRE.test(y) ? 1 : -1;
    if (y === undefined) return typeof x === 'string' && PRE.test(x) ? -1 : 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return 1; // 1.0.1 > 1.0rc
    if (typeof y === 'number') return -1;
    return x < y ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
