/**
 * A signed-in web UI session for HTTP-level tests: POST /signin as a browser on this site
 * would (Origin + Sec-Fetch-Site), keep the cookie, and read each page's CSRF token.
 */
export interface UiSession {
  cookie: string;
  /** The raw Set-Cookie header of the sign-in. */
  setCookie: string;
  get(path: string): Promise<{ status: number; html: string }>;
  /** A same-origin form post with the session's CSRF token (override `_csrf` to test refusals). */
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /** The CSRF token a page carries. */
  csrf(path?: string): Promise<string>;
}

export async function signIn(url: string, token: string): Promise<UiSession> {
  const r = await fetch(`${url}/signin`, {
    method: 'POST',
    body: new URLSearchParams({ token }),
    redirect: 'manual',
    headers: { origin: url, 'sec-fetch-site': 'same-origin' },
  });
  if (r.status !== 303) throw new Error(`sign-in failed: ${r.status} ${await r.text()}`);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0];
  const session: UiSession = {
    cookie,
    setCookie,
    async get(path) {
      const res = await fetch(url + path, { headers: { cookie }, redirect: 'manual' });
      return { status: res.status, html: await res.text() };
    },
    async csrf(path = '/cli') {
      const { html } = await session.get(path);
      const m = /name="_csrf" value="([^"]+)"/.exec(html);
      if (!m) throw new Error(`no CSRF token on ${path}`);
      return m[1];
    },
    async post(path, fields, headers = {}) {
      const body = new URLSearchParams({ _csrf: await session.csrf(), ...fields });
      return fetch(url + path, { method: 'POST', body, redirect: 'manual', headers: { cookie, origin: url, 'sec-fetch-site': 'same-origin', ...headers } });
    },
  };
  return session;
}
