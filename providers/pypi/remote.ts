/**
 * PyPI remote and virtual repositories (issue 14). A remote's upstream is a simple index
 * root (`https://pypi.org/simple/` style, PEP 503 HTML or PEP 691 JSON). Its pages are
 * served in both serialisations with every file URL pointing at this server
 * (`/repo/pypi/<remote>/files/<project>/<filename>`), hashes, requires-python, yanks and
 * PEP 658/714 metadata kept; each such path is linked to its upstream URL and sha256 so the
 * file is fetched (and verified) on its first request.
 */
import type { MemberPart, RemoteSupport, RemoteTarget, ServedIndexFile, TransformedIndex, RequestMergedVirtual } from '../../src/core/kind-contract';
import { fileUrl } from './index-builder';
import { isNormalizedName, isValidProjectName, normalizeName } from './names';
import { HTML_TYPE, JSON_TYPE, renderProjectHtml, renderProjectJson, renderRootHtml, renderRootJson, type PageFile } from './render';
import { parseProjectPage, parseRootPage } from './simple-parse';
import { compareVersionStrings } from './version';
import { parseSdistFilename, parseWheelFilename } from './names';

/** PEP 691: JSON preferred, HTML accepted (pypi.org answers JSON; a static tree answers HTML). */
const ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1';

const PAGE = /^simple\/([^/]+)\/index\.(html|json)$/;
const ROOT = /^simple\/index\.(html|json)$/;

function root(upstream: string): string {
  return upstream.endsWith('/') ? upstream : `${upstream}/`;
}

/** A file name that is one safe path segment. */
function safeFilename(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(name);
}

/** The version in a distribution's file name, for the PEP 700 `versions` list ('' when unreadable). */
function versionOf(filename: string, project: string): string {
  try {
    if (filename.endsWith('.whl')) return parseWheelFilename(filename).version;
    return parseSdistFilename(filename, project).version;
  } catch {
    return '';
  }
}

function pages(normalized: string, files: PageFile[]): ServedIndexFile[] {
  const versions = [...new Set(files.map((f) => versionOf(f.filename, normalized)).filter(Boolean))].sort(compareVersionStrings);
  const page = { name: normalized, versions, files };
  return [
    { path: `simple/${normalized}/index.html`, data: Buffer.from(renderProjectHtml(page)), contentType: HTML_TYPE },
    { path: `simple/${normalized}/index.json`, data: Buffer.from(renderProjectJson(page)), contentType: JSON_TYPE },
  ];
}

function rootPages(names: string[]): ServedIndexFile[] {
  const byKey = new Map<string, string>();
  for (const n of names) if (isValidProjectName(n) && !byKey.has(normalizeName(n))) byKey.set(normalizeName(n), n);
  const projects = [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([normalized, name]) => ({ name, normalized }));
  return [
    { path: 'simple/index.html', data: Buffer.from(renderRootHtml(projects)), contentType: HTML_TYPE },
    { path: 'simple/index.json', data: Buffer.from(renderRootJson(projects)), contentType: JSON_TYPE },
  ];
}

export const pypiRemote: RemoteSupport = {
  checkUpstream(url) {
    if (new URL(url).search) throw new Error('a simple index root has no query string');
  },
  target(path, ctx): RemoteTarget | null {
    if (ROOT.test(path)) return { kind: 'index', source: 'simple/', url: root(ctx.upstream), accept: ACCEPT };
    const m = PAGE.exec(path);
    if (m) {
      if (!isNormalizedName(m[1]!)) return null;
      return { kind: 'index', source: `simple/${m[1]}/`, url: `${root(ctx.upstream)}${m[1]}/`, accept: ACCEPT };
    }
    // Files (and their .metadata) are reachable only through the links a cached page made.
    if (path.startsWith('files/')) return { kind: 'package', url: null };
    return null;
  },
  transformIndex(fetched, ctx): TransformedIndex {
    if (fetched.source === 'simple/') return { files: rootPages(parseRootPage(fetched.body, fetched.contentType)), links: [] };
    const normalized = fetched.source.slice('simple/'.length, -1);
    const links: TransformedIndex['links'] = [];
    const files: PageFile[] = [];
    const seen = new Set<string>();
    for (const f of parseProjectPage(fetched.body, fetched.contentType, fetched.url)) {
      if (!safeFilename(f.filename) || seen.has(f.filename)) continue;
      seen.add(f.filename);
      const path = `files/${normalized}/${f.filename}`;
      links.push({ path, url: f.url, sha256: f.hashes.sha256 ?? null });
      let coreMetadata: PageFile['core-metadata'] = false;
      if (f.coreMetadata) {
        // PEP 658: the metadata file is the distribution's URL plus `.metadata`.
        links.push({ path: `${path}.metadata`, url: `${f.url}.metadata`, sha256: f.coreMetadata.sha256 ?? null });
        coreMetadata = (f.coreMetadata.sha256 ? { sha256: f.coreMetadata.sha256 } : true) as PageFile['core-metadata'];
      }
      files.push({
        filename: f.filename,
        url: fileUrl(ctx.repoName, path),
        hashes: f.hashes,
        ...(f.requiresPython !== undefined ? { 'requires-python': f.requiresPython } : {}),
        'core-metadata': coreMetadata,
        yanked: f.yanked,
        size: f.size as number,
        'upload-time': f.uploadTime as string,
      });
    }
    return { files: pages(normalized, files), links };
  },
};

/** One of our own PEP 691 pages (a hosted member's or a remote member's) back to page files. */
function readJsonPage(part: MemberPart): { files: PageFile[]; projects: string[] } {
  const doc = JSON.parse(part.data.toString('utf8')) as { files?: PageFile[]; projects?: { name: string }[] };
  return { files: doc.files ?? [], projects: (doc.projects ?? []).map((p) => p.name) };
}

export const pypiVirtual: RequestMergedVirtual = {
  mergeBy: 'request',
  remoteMembers: true,
  merged(path) {
    if (ROOT.test(path)) return { read: 'simple/index.json', shadow: false };
    const m = PAGE.exec(path);
    // Project pages: a hosted member's project hides the upstreams' (dependency confusion).
    if (m && isNormalizedName(m[1]!)) return { read: `simple/${m[1]}/index.json`, shadow: true };
    return null;
  },
  merge(path, parts) {
    const wantHtml = path.endsWith('.html');
    const pick = (files: ServedIndexFile[]) => files.find((f) => f.path.endsWith(wantHtml ? '.html' : '.json'))!;
    if (ROOT.test(path)) return pick(rootPages(parts.flatMap((p) => readJsonPage(p).projects)));
    const normalized = PAGE.exec(path)![1]!;
    // First member wins on a file name: its URL (and so its bytes) is the one listed.
    const byName = new Map<string, PageFile>();
    for (const p of parts) for (const f of readJsonPage(p).files) if (!byName.has(f.filename)) byName.set(f.filename, f);
    return pick(pages(normalized, [...byName.values()]));
  },
};
