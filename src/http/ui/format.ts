/** Formatting helpers for the UI pages and plots, and the template filters built on them. */
import { views } from '../views';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Math.round(v * 10) / 10} ${units[i]}`;
}

/**
 * Only http(s) URLs from package metadata become links. Autoescaping keeps a value from
 * breaking out of the attribute, but `javascript:` or `data:` would still run on click.
 */
export function safeHttpUrl(u: unknown): string | null {
  if (typeof u !== 'string') return null;
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** `license` is a string in most formats and a list in pacman's. */
export function licenseText(l: unknown): string {
  if (Array.isArray(l)) return l.filter((x) => typeof x === 'string').join(', ');
  return typeof l === 'string' ? l : '';
}

/** Root-relative UI link, every segment percent-encoded. */
export function uiPath(...segments: string[]): string {
  return '/ui/' + segments.map(encodeURIComponent).join('/');
}

/** Root-relative download link for a repository-relative file path. */
export function filePath(provider: string, repo: string, path: string): string {
  return `/repo/${encodeURIComponent(provider)}/${encodeURIComponent(repo)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

views.addFilter('httpurl', safeHttpUrl);
views.addFilter('license', licenseText);
views.addGlobal('uiPath', uiPath);
views.addGlobal('filePath', filePath);
