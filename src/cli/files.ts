/**
 * Local file arguments: `-f` values and positional paths, with glob patterns (`*`, `?`,
 * `[...]`) expanded here for shells that pass them through unexpanded (quoted, Windows,
 * CI YAML). Node 20 has no fs.glob, so this is a small per-segment matcher.
 */
import fs from 'node:fs';
import path from 'node:path';
import { usageError } from './errors';

const GLOB = /[*?[]/;

function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expand one pattern segment by segment; hidden files only match patterns starting with '.'. */
function expand(pattern: string): string[] {
  const segs = pattern.split('/');
  let prefixes = [''];
  segs.forEach((seg, i) => {
    const sep = i === segs.length - 1 ? '' : '/';
    if (!GLOB.test(seg)) {
      prefixes = prefixes.map((p) => p + seg + sep);
      return;
    }
    const re = segmentRegExp(seg);
    prefixes = prefixes.flatMap((p) => {
      let names: string[];
      try {
        names = fs.readdirSync(p || '.');
      } catch {
        return [];
      }
      return names.sort().filter((n) => re.test(n) && (seg.startsWith('.') || !n.startsWith('.'))).map((n) => p + n + sep);
    });
  });
  return prefixes;
}

/** Regular files under a directory, depth first in name order; hidden entries are skipped. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesBelow(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export interface LocalFile {
  path: string;
  name: string;
  size: number;
}

/** Resolve every argument to existing regular files (a directory: the files below it); a missing file is a usage error (exit 2). */
export function resolveFiles(args: string[]): LocalFile[] {
  const out: LocalFile[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    let paths = [arg];
    if (!fs.existsSync(arg) && GLOB.test(arg)) {
      paths = expand(arg);
      if (paths.length === 0) throw usageError(`no files match ${arg}`);
    }
    for (const p of paths) {
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw usageError(code === 'ENOENT' ? `file not found: ${p}` : `cannot read ${p}: ${(e as Error).message}`);
      }
      if (st.isDirectory()) {
        // A directory stands for every file below it (a repository's pool/), hidden ones aside.
        out.push(...resolveFiles(filesBelow(p)).filter((f) => !seen.has(path.resolve(f.path)) && seen.add(path.resolve(f.path))));
        continue;
      }
      if (!st.isFile()) throw usageError(`not a regular file: ${p}`);
      try {
        fs.accessSync(p, fs.constants.R_OK);
      } catch {
        throw usageError(`cannot read ${p}: permission denied`);
      }
      const key = path.resolve(p);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ path: p, name: path.basename(p), size: st.size });
    }
  }
  return out;
}
