import fs from 'node:fs';
import { ADMIN_TOKEN } from './server';

export const auth = (token = ADMIN_TOKEN) => ({ Authorization: `Bearer ${token}` });

/** POST a file to /addpkg the way `curl -F 'f=@file'` does. */
export async function upload(
  base: string,
  file: string | { name: string; data: Buffer },
  query: Record<string, string>,
  opts: { token?: string | null; extra?: Record<string, { name: string; data: Buffer }>; fields?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  if (typeof file === 'string') form.append('f', await fs.openAsBlob(file), file.split('/').pop());
  else form.append('f', new Blob([file.data]), file.name);
  for (const [k, v] of Object.entries(opts.extra ?? {})) form.append(k, new Blob([v.data]), v.name);
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  const headers: Record<string, string> = opts.token === null ? {} : auth(opts.token);
  const res = await fetch(`${base}/addpkg?${new URLSearchParams(query)}`, { method: 'POST', body: form, headers });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers: { Accept: 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/**
 * An API body without its download statistics (`downloads`, `lastDownloadedAt`): they are
 * flushed in the background every DOWNLOAD_FLUSH_SECONDS, so two reads around unrelated work
 * may differ in them alone.
 */
export function withoutDownloadStats<T>(body: T): T {
  if (Array.isArray(body)) return body.map(withoutDownloadStats) as T;
  if (body && typeof body === 'object') {
    return Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'downloads' && k !== 'lastDownloadedAt').map(([k, v]) => [k, withoutDownloadStats(v)])) as T;
  }
  return body;
}
