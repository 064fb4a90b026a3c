/** `?limit=&offset=` of the JSON API's lists. */
import type { Request } from 'express';

export function page(req: Request): { limit: number; offset: number } {
  // Whole numbers: both go into SQL (catalog.ts); a huge offset is an empty page, not an error.
  const limit = Math.min(Math.max(Math.floor(Number(req.query.limit ?? 100)) || 100, 1), 1000);
  const offset = Math.min(Math.max(Math.floor(Number(req.query.offset ?? 0)) || 0, 0), 2 ** 31 - 1);
  return { limit, offset };
}
