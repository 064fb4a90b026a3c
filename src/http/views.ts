import path from 'node:path';
import nunjucks from 'nunjucks';
import { projectRoot } from '../util/project-root';

/** Nunjucks with autoescaping on: every interpolated value is HTML-escaped unless marked safe. */
export const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(projectRoot, 'templates'), { noCache: process.env.NODE_ENV === 'development' }), {
  autoescape: true,
  throwOnUndefined: false,
});

views.addFilter('bytes', (n: number | undefined) => {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
});
views.addFilter('isodate', (d: Date | string | number | undefined) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : ''));
views.addFilter('urlpart', (s: string) => encodeURIComponent(s));

export function render(template: string, context: Record<string, unknown>): string {
  return views.render(template, context);
}
