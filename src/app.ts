/** buildApp(services): the Express application. No listen, no globals: tests run it on port 0. */
import path from 'node:path';
import express, { type Express } from 'express';
import { NotFoundError } from './core/errors';
import type { Services } from './services';
import { adminRouter } from './http/admin-router';
import { apiRouter } from './http/api-router';
import { kindRouter } from './http/kind-router';
import { apiReadRouter } from './http/api-read-router';
import { authenticate, errorHandler, requestLog } from './http/middleware';
import { repoRouter } from './http/repo-router';
import { uiRouter } from './http/ui-router';
import { handleUpload } from './http/upload-handler';
import { projectRoot } from './util/project-root';

export function buildApp(s: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Express would otherwise emit weak ETags for JSON/HTML it renders; blobs set their own.
  app.set('etag', false);
  app.use(requestLog(s.log));
  app.use(authenticate(s.tokens));

  app.get('/healthz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ok = true;
    try {
      await s.db.ping();
      checks.database = 'ok';
    } catch (e) {
      ok = false;
      checks.database = `error: ${(e as Error).message}`;
    }
    try {
      await s.blobs.check();
      checks.blobStore = 'ok';
    } catch (e) {
      ok = false;
      checks.blobStore = `error: ${(e as Error).message}`;
    }
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', database: s.db.mysql ? 'mysql' : 'sqlite', blobStore: s.blobs.kind, checks });
  });

  app.post('/addpkg', (req, res) => handleUpload(s, req, res, { fileField: 'f' }));
  app.use('/api', kindRouter(s));
  app.use('/api', apiRouter(s));
  app.use('/api', adminRouter(s));
  app.use('/api', apiReadRouter(s));
  app.use(repoRouter(s));
  app.use(uiRouter(s));
  app.use('/static', express.static(path.join(projectRoot, 'public'), { maxAge: '1h' }));
  app.use((req, _res, next) => next(new NotFoundError(`nothing at ${req.method} ${req.path}`)));
  app.use(errorHandler(s.log));
  return app;
}
