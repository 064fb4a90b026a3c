/**
 * The JSON API client: global fetch with the token, errors mapped to exit codes and the
 * server's own `{error}` message. Connection failures become exit 6 (errors.ts).
 */
import { CliError, EXIT, connectionError, exitCodeForStatus } from './errors';
import type { Resolved } from './config';

/** The server's message from an error response ({error, code}), or the status line. */
export function errorFromResponse(status: number, statusText: string, body: string, cfg: Resolved): CliError {
  let message = '';
  try {
    const j = JSON.parse(body) as { error?: unknown; details?: { reasons?: unknown } };
    if (typeof j.error === 'string') message = j.error;
  } catch {
    // not JSON (a proxy's HTML page): fall back to the status line
  }
  if (!message) message = `HTTP ${status} ${statusText}`.trim();
  message = message.replace(/\s*\n\s*/g, ' ');
  if (status === 401 && cfg.tokenSource === 'none') message += ' (give rpcli a token: -t <token>, RPCLI_TOKEN, or a profile)';
  return new CliError(message, exitCodeForStatus(status));
}

export class Api {
  constructor(readonly cfg: Resolved) {}

  get server(): string {
    return this.cfg.server;
  }

  authHeaders(): Record<string, string> {
    return this.cfg.token ? { Authorization: `Bearer ${this.cfg.token}` } : {};
  }

  /** fetch with auth; network failures -> exit 6, HTTP errors -> the server's message. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { Accept: 'application/json', ...this.authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw connectionError(this.server, e) ?? new CliError(`cannot connect to ${this.server}: ${cause ?? (e as Error).message}`, EXIT.CONNECTION);
    }
    if (!res.ok) throw errorFromResponse(res.status, res.statusText, await res.text().catch(() => ''), this.cfg);
    return res;
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await this.fetch(`${this.server}${path}`, init);
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new CliError(`the server at ${this.server} did not answer with JSON (is it an artifactd server?)`);
    }
  }
}

/** /api/repos/<provider>/<repo> with both parts percent-encoded. */
export function repoPath(provider: string, repo: string): string {
  return `/api/repos/${encodeURIComponent(provider)}/${encodeURIComponent(repo)}`;
}
