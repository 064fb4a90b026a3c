/**
 * The JSON body parser of the /api routers, behind a token check. Every /api route that takes
 * a body needs at least a write token, so a request without one is refused before a byte of
 * its body is read: an anonymous client cannot make the server read (and inflate) up to the
 * parser's limit per request. The refusal closes the connection (`Connection: close`), so Node
 * does not drain the unread body either. GET/HEAD/OPTIONS bodies are never parsed (no route
 * reads them).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { UnauthorizedError } from '../core/errors';

/** Does the request announce a body (RFC 9112 6.3: Transfer-Encoding, or a non-zero Content-Length)? */
export function hasBody(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

export function authenticatedJsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || !hasBody(req)) return next();
    if (!req.principal) {
      res.setHeader('Connection', 'close');
      return next(new UnauthorizedError());
    }
    parse(req, res, next);
  };
}
