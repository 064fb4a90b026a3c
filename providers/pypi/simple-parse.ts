/**
 * Reading an upstream's simple index pages, both serialisations (for remote repositories):
 * PEP 503 HTML (anchors with `#<algo>=<hex>` fragments, data-requires-python, PEP 592
 * data-yanked, PEP 658/714 data-core-metadata / data-dist-info-metadata) and PEP 691 JSON
 * (`core-metadata` or the older `dist-info-metadata` key).
 * https://packaging.python.org/en/latest/specifications/simple-repository-api/
 */

export interface UpstreamFile {
  filename: string;
  /** Absolute URL without the fragment. */
  url: string;
  hashes: Record<string, string>;
  requiresPython?: string;
  /** false, true (yanked without reason) or the reason. */
  yanked: boolean | string;
  /** null: no metadata file; {} : served without a hash; else its hashes. */
  coreMetadata: Record<string, string> | null;
  size?: number;
  uploadTime?: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Attributes of one start tag's inside (`href="x" data-yanked`), names lowercased, values unescaped. */
function attributes(inside: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (let m = re.exec(inside); m; m = re.exec(inside)) {
    const name = m[1]!.toLowerCase();
    if (!out.has(name)) out.set(name, unescapeHtml(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

interface Anchor {
  attrs: Map<string, string>;
  text: string;
}

function anchors(html: string): { base: string | null; anchors: Anchor[] } {
  const base = /<base\b([^>]*)>/i.exec(html);
  const out: Anchor[] = [];
  const re = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) out.push({ attrs: attributes(m[1]!), text: unescapeHtml(m[2]!.replace(/<[^>]*>/g, '')).trim() });
  return { base: base ? (attributes(base[1]!).get('href') ?? null) : null, anchors: out };
}

function hashParam(value: string): Record<string, string> {
  const m = /^([a-z0-9_]+)=([0-9a-fA-F]+)$/.exec(value.trim());
  return m ? { [m[1]!]: m[2]!.toLowerCase() } : {};
}

function isJson(contentType: string): boolean {
  return /json/i.test(contentType);
}

/** A project page's files, either serialisation; URLs resolved against `pageUrl`. */
export function parseProjectPage(body: Buffer, contentType: string, pageUrl: string): UpstreamFile[] {
  if (isJson(contentType)) {
    const doc = JSON.parse(body.toString('utf8')) as { files?: unknown };
    if (!Array.isArray(doc.files)) throw new Error('a PEP 691 project page without a "files" list');
    const out: UpstreamFile[] = [];
    for (const f of doc.files as Record<string, unknown>[]) {
      if (typeof f?.filename !== 'string' || typeof f.url !== 'string') continue;
      const url = new URL(f.url, pageUrl);
      const hashes = typeof f.hashes === 'object' && f.hashes ? Object.fromEntries(Object.entries(f.hashes as Record<string, unknown>).filter(([, v]) => typeof v === 'string').map(([k, v]) => [k, String(v).toLowerCase()])) : {};
      const cm = f['core-metadata'] ?? f['dist-info-metadata'];
      url.hash = '';
      out.push({
        filename: f.filename,
        url: url.toString(),
        hashes,
        ...(typeof f['requires-python'] === 'string' ? { requiresPython: f['requires-python'] } : {}),
        yanked: typeof f.yanked === 'string' ? f.yanked : f.yanked === true,
        coreMetadata: cm === true ? {} : cm && typeof cm === 'object' ? (cm as Record<string, string>) : null,
        ...(typeof f.size === 'number' ? { size: f.size } : {}),
        ...(typeof f['upload-time'] === 'string' ? { uploadTime: f['upload-time'] } : {}),
      });
    }
    return out;
  }
  const { base, anchors: list } = anchors(body.toString('utf8'));
  const baseUrl = base ? new URL(base, pageUrl).toString() : pageUrl;
  const out: UpstreamFile[] = [];
  for (const a of list) {
    const href = a.attrs.get('href');
    if (!href) continue;
    const url = new URL(href, baseUrl);
    const hashes = hashParam(url.hash.slice(1));
    url.hash = '';
    const filename = a.text || decodeURIComponent(url.pathname.split('/').pop() ?? '');
    const cm = a.attrs.get('data-core-metadata') ?? a.attrs.get('data-dist-info-metadata');
    const yanked = a.attrs.get('data-yanked');
    out.push({
      filename,
      url: url.toString(),
      hashes,
      ...(a.attrs.has('data-requires-python') ? { requiresPython: a.attrs.get('data-requires-python')! } : {}),
      yanked: yanked === undefined ? false : yanked === '' ? true : yanked,
      coreMetadata: cm === undefined || cm === 'false' ? null : cm === 'true' ? {} : hashParam(cm),
    });
  }
  return out;
}

/** The project names of an index root page, either serialisation. */
export function parseRootPage(body: Buffer, contentType: string): string[] {
  if (isJson(contentType)) {
    const doc = JSON.parse(body.toString('utf8')) as { projects?: { name?: unknown }[] };
    if (!Array.isArray(doc.projects)) throw new Error('a PEP 691 index root without a "projects" list');
    return doc.projects.map((p) => p?.name).filter((n): n is string => typeof n === 'string');
  }
  return anchors(body.toString('utf8')).anchors.map((a) => a.text).filter(Boolean);
}
