/**
 * Request mapping for the simple API (PEP 503 URLs, PEP 691 content negotiation).
 * `<repo>/` and `<repo>/simple/` are the same index root; project pages live at
 * `<repo>/<normalized>/` and `<repo>/simple/<normalized>/`. Every page URL ends with '/':
 * slash-less and non-normalized names redirect (GET/HEAD only: twine POSTs to the root and
 * must never be redirected). Files under `files/` are the core's business.
 */
import type { RequestView, Rewrite } from '../../src/core/provider';
import { isValidProjectName, normalizeName } from './names';

export type Serialisation = 'json' | 'html';

/** Concrete media types per serialisation (PEP 691 names, plus the `latest` aliases and text/html). */
const TYPES: Record<Serialisation, string[]> = {
  json: ['application/vnd.pypi.simple.v1+json', 'application/vnd.pypi.simple.latest+json'],
  html: ['application/vnd.pypi.simple.v1+html', 'application/vnd.pypi.simple.latest+html', 'text/html'],
};

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** RFC 9110 Accept: media ranges with optional `q`; malformed members are ignored. */
export function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const member of header.split(',')) {
    const [range, ...params] = member.split(';').map((s) => s.trim());
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(range ?? '');
    if (!m) continue;
    let q = 1;
    for (const p of params) {
      const qm = /^q\s*=\s*([0-9](?:\.[0-9]{0,3})?)$/i.exec(p);
      if (qm) q = Math.min(1, Number(qm[1]));
    }
    out.push({ type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), q });
  }
  return out;
}

/** Quality of one concrete type: the q of the most specific range that matches it (0 if none). */
function qualityOf(concrete: string, ranges: MediaRange[]): number {
  const [type, subtype] = concrete.split('/');
  let best = -1;
  let q = 0;
  for (const r of ranges) {
    const spec = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
    if (spec > best) {
      best = spec;
      q = r.q;
    }
  }
  return q;
}

/** Which serialisation an Accept value asks for; null when it accepts neither. Ties go to HTML. */
export function negotiate(accept: string): Serialisation | null {
  const ranges = parseAccept(accept);
  const score = (s: Serialisation) => Math.max(...TYPES[s].map((t) => qualityOf(t, ranges)));
  const json = score('json');
  const html = score('html');
  if (json <= 0 && html <= 0) return null;
  return json > html ? 'json' : 'html';
}

/**
 * `?format=` overrides Accept (PEP 691 allows it; `json`/`html` are accepted as shorthands).
 * With no usable preference the answer is HTML: the PEP 503 default every installer reads.
 * (A 406 would need a status the Rewrite contract cannot express.)
 */
export function chooseSerialisation(accept: string, format: string | undefined): Serialisation {
  if (format) {
    const f = format.trim().toLowerCase();
    if (f === 'json' || f === 'html') return f;
    const byFormat = negotiate(f);
    if (byFormat) return byFormat;
  }
  return negotiate(accept || '*/*') ?? 'html';
}

/** Stored index files reachable by their own path (no redirect to a project page). */
const INDEX_FILES = new Set(['index.html', 'index.json']);

export function rewrite(req: RequestView): Rewrite | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  const path = req.path;
  if (path === 'simple') return { redirect: 'simple/' };
  const prefix = path.startsWith('simple/') ? 'simple/' : '';
  const rest = path.slice(prefix.length);
  const ext = chooseSerialisation(req.accept, req.query.format);
  if (rest === '') return { path: `simple/index.${ext}`, vary: 'Accept' };
  const m = /^([^/]+)(\/?)$/.exec(rest);
  if (!m) return null; // deeper paths: stored files, attachments, index files
  const name = m[1]!;
  if (prefix === '' && name === 'files') return null; // `files/` holds the distributions
  if (!m[2] && INDEX_FILES.has(name)) return null;
  if (!isValidProjectName(name)) return null;
  const normalized = normalizeName(name);
  if (!m[2] || name !== normalized) return { redirect: `${prefix}${normalized}/` };
  return { path: `simple/${normalized}/index.${ext}`, vary: 'Accept' };
}
