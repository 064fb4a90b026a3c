/** buildApp(services): the Express application. No listen, no globals: tests run it on port 0. */
import path from 'node:path';
import express, { type Express } from 'express';
import { NotFoundError } from './core/errors';
import type { Services } from './services';
import { adminRouter } from './http/admin-router';
import { apiRouter } from './http/api-router';
import { cliRouter } from './http/cli-router';
import { authenticatedJsonBody } from './http/json-body';
import { kindRouter } from './http/kind-router';
import { apiReadRouter } from './http/api-read-router';
import { authenticate, errorHandler, requestLog } from './http/middleware';
import { repoRouter } from './http/repo-router';
import { sessionAuth } from './http/session';
import { SessionService } from './core/sessions';
import { uiRouter } from './http/ui-router';
import { handleBatchUpload } from './http/batch-upload';
import { handleUpload } from './http/upload-handler';
import { projectRoot } from './util/project-root';
import { packageVersion } from './util/version';
import { auditErrors, auditTrail, httpMetrics, metricsEndpoint, requestContext } from './http/ops-middleware';
import { opsRouter } from './http/ops-router';

export function buildApp(s: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Express would otherwise emit weak ETags for JSON/HTML it renders; blobs set their own.
  app.set('etag', false);
  app.use(requestLog(s.log));
  app.use(httpMetrics(s.metrics));
  app.use(authenticate(s.tokens));
  // Web UI sign-ins (src/http/session.ts): the cookie counts for reads, and for writes only through the UI's CSRF-checked forms.
  const sessions = new SessionService(s.db, s.tokens);
  app.use(sessionAuth(sessions));
  app.use(auditTrail(s.audit));
  // JSON bodies are parsed here, behind the token check (nothing of an anonymous body is read)
  // and before the request context is entered: body-parser calls next() from a stream event,
  // where the AsyncLocalStorage context would be lost. 2 MiB: key imports.
  app.use('/api', authenticatedJsonBody('2mb'));
  app.use(requestContext(s));
  app.get('/metrics', metricsEndpoint(s));

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
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', version: packageVersion(), database: s.db.kind, blobStore: s.blobs.kind, checks });
  });

  app.post('/addpkg', (req, res) => handleUpload(s, req, res, { fileField: 'f' }));
  app.post('/addpkg/batch', (req, res) => handleBatchUpload(s, req, res));
  app.use(cliRouter(s));
  app.use('/api', kindRouter(s));
  app.use('/api', apiRouter(s));
  app.use('/api', adminRouter(s));
  app.use('/api', opsRouter(s));
  app.use('/api', apiReadRouter(s));
  app.use(repoRouter(s));
  app.use(uiRouter(s, sessions));
  app.use('/static', express.static(path.join(projectRoot, 'public'), { maxAge: '1h' }));
  app.use((req, _res, next) => next(new NotFoundError(`nothing at ${req.method} ${req.path}`)));
  app.use(auditErrors());
  app.use(errorHandler(s.log));
  return app;
}
