import type { Request } from 'express';
import type { Services } from '../services';

/** BASE_URL when set (behind a proxy), else what the client used to reach us. */
export function baseUrl(s: Services, req: Request): string {
  if (s.config.BASE_URL) return s.config.BASE_URL;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

export function repoUrl(s: Services, req: Request, provider: string, repo: string): string {
  return `${baseUrl(s, req)}/repo/${provider}/${encodeURIComponent(repo)}`;
}
