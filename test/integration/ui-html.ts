/** Reading server-rendered HTML in tests without a browser: entity decoding, text, table rows, snippets. */

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return NAMED[e.toLowerCase()] ?? m;
  });
}

/** Visible text: tags dropped, entities decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return decode(html.replace(/<script[\s\S]*?<\/script>/gi, '').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

/** Cells (as text) of each row of the table bodies in `html`. */
export function tableRows(html: string): string[][] {
  const out: string[][] = [];
  for (const body of html.match(/<tbody>[\s\S]*?<\/tbody>/g) ?? []) {
    for (const row of body.match(/<tr>[\s\S]*?<\/tr>/g) ?? []) {
      out.push([...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((m) => textOf(m[1])));
    }
  }
  return out;
}

/** The setup snippets shown on a repository page: title -> code, as a user copying them gets them. */
export function snippets(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<h3 id="snippet-(\d+)-h">([\s\S]*?)<\/h3>[\s\S]*?<code id="snippet-\1">([\s\S]*?)<\/code>/g)) out.set(decode(m[2]), decode(m[3]));
  return out;
}

/** Every href in the page, decoded. */
export function links(html: string): string[] {
  return [...html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => decode(m[1]));
}

export async function getHtml(url: string, headers: Record<string, string> = {}): Promise<{ status: number; html: string; headers: Headers }> {
  const res = await fetch(url, { headers: { Accept: 'text/html', ...headers }, redirect: 'manual' });
  return { status: res.status, html: await res.text(), headers: res.headers };
}
