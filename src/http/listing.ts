import type { Request, Response } from 'express';
import type { ListingEntry } from '../core/served-paths';
import { render } from './views';

/** A web-server style autoindex (HTML), or JSON for `Accept: application/json`. */
export function sendListing(req: Request, res: Response, opts: { title: string; entries: ListingEntry[]; json: boolean; isRoot: boolean }): void {
  res.setHeader('Vary', 'Accept');
  if (opts.json) {
    res.json({
      path: req.originalUrl.split('?')[0],
      entries: opts.entries.map((e) => ({ name: e.name, type: e.dir ? 'directory' : 'file', size: e.size ?? null, modified: e.modified?.toISOString() ?? null })),
    });
    return;
  }
  res.type('html').send(render('listing.njk', { title: opts.title, entries: opts.entries, isRoot: opts.isRoot }));
}
