/**
 * Simple repository API pages, both serialisations:
 * - HTML: PEP 503 + 592 (data-yanked) + 629 (repository-version meta) + 658/714 (metadata).
 * - JSON: PEP 691 + 700 (api-version 1.1: versions, size, upload-time). Never the old
 *   `dist-info-metadata` key in JSON (PEP 714: pip 22.3 until the 2023 fix crashes on it).
 * https://packaging.python.org/en/latest/specifications/simple-repository-api/
 */
import type { StoredFileEntry } from './entry';

export const API_VERSION = '1.1';
export const HTML_TYPE = 'text/html; charset=utf-8';
export const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

export interface PageFile extends StoredFileEntry {
  /** Where the file is downloaded from (the `.metadata` file is this plus `.metadata`). */
  url: string;
  /** PEP 592: false, or true / the reason. */
  yanked: boolean | string;
  /** ISO 8601 UTC with a Z suffix. */
  'upload-time': string;
}

export interface ProjectPage {
  /** Normalized name (PEP 691 says the JSON `name` is the normalized one). */
  name: string;
  versions: string[];
  files: PageFile[];
}

/** Escape for HTML text and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const head = (title: string) =>
  `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="${API_VERSION}">\n` +
  `    <title>${escapeHtml(title)}</title>\n  </head>\n  <body>\n`;
const tail = '  </body>\n</html>\n';

/** Root page: one anchor per project, relative so the page works at `<repo>/` and `<repo>/simple/`. */
export function renderRootHtml(projects: { name: string; normalized: string }[]): string {
  const links = projects.map((p) => `    <a href="${escapeHtml(p.normalized)}/">${escapeHtml(p.name)}</a><br />\n`).join('');
  return head('Simple index') + links + tail;
}

export function renderRootJson(projects: { name: string }[]): string {
  return JSON.stringify({ meta: { 'api-version': API_VERSION }, projects: projects.map((p) => ({ name: p.name })) });
}

/** The `sha256=<hex>` value of data-core-metadata, or 'true' when served without a hash. */
function metadataAttr(cm: StoredFileEntry['core-metadata']): string | null {
  if (cm === false) return null;
  if (typeof cm === 'object') {
    const [algo, hex] = Object.entries(cm)[0] ?? [];
    return algo ? `${algo}=${hex}` : 'true';
  }
  return 'true';
}

function anchor(f: PageFile): string {
  // pip accepts one `#<algo>=<hex>` fragment; sha256 is what PyPI sends.
  const algo = f.hashes.sha256 ? 'sha256' : Object.keys(f.hashes)[0];
  let a = `<a href="${escapeHtml(f.url + (algo ? `#${algo}=${f.hashes[algo]}` : ''))}"`;
  if (f['requires-python'] !== undefined) a += ` data-requires-python="${escapeHtml(f['requires-python'])}"`;
  const md = metadataAttr(f['core-metadata']);
  // Both names with the same value: data-dist-info-metadata for pip < 23.2 (PEP 714).
  if (md !== null) a += ` data-dist-info-metadata="${escapeHtml(md)}" data-core-metadata="${escapeHtml(md)}"`;
  // Always with a value: pip's parser reads a bare `data-yanked` as None, i.e. not yanked.
  if (f.yanked !== false) a += ` data-yanked="${escapeHtml(f.yanked === true ? '' : f.yanked)}"`;
  return `${a}>${escapeHtml(f.filename)}</a><br />`;
}

export function renderProjectHtml(p: ProjectPage): string {
  const title = `Links for ${p.name}`;
  return head(title) + `    <h1>${escapeHtml(title)}</h1>\n` + p.files.map((f) => `    ${anchor(f)}\n`).join('') + tail;
}

export function renderProjectJson(p: ProjectPage): string {
  const files = p.files.map((f) => {
    const o: Record<string, unknown> = { filename: f.filename, url: f.url, hashes: f.hashes };
    if (f['requires-python'] !== undefined) o['requires-python'] = f['requires-python'];
    o['core-metadata'] = f['core-metadata'];
    o.yanked = f.yanked;
    o.size = f.size;
    o['upload-time'] = f['upload-time'];
    return o;
  });
  return JSON.stringify({ meta: { 'api-version': API_VERSION }, name: p.name, versions: p.versions, files });
}
