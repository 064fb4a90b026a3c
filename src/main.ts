/** Entry point: `tsx src/main.ts [serve|migrate|gc]`. */
import { ConfigError, loadConfig } from './config/schema';
import { createServices } from './services';
import { buildApp } from './app';
import { createLogger } from './util/logger';
import { runGc } from './core/gc';
import { createHttpServer } from './http/server-timeouts';
import { withFastPath } from './http/fast-path';

async function main(): Promise<void> {
  const command = process.argv[2] ?? 'serve';
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`artifactd: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL);
  const s = await createServices(config, log);
  if (command === 'migrate') {
    log.info('migrations applied');
    await s.close();
    return;
  }
  if (command === 'gc') {
    const result = await runGc(s, { dryRun: process.argv.includes('--dry-run') });
    process.stdout.write(JSON.stringify(result) + '\n');
    await s.close();
    return;
  }
  if (command !== 'serve') {
    process.stderr.write(`artifactd: unknown command "${command}" (serve, migrate, gc)\n`);
    process.exit(2);
  }
  const app = buildApp(s);
  const server = createHttpServer(withFastPath(s, app), config);
  server.listen(config.PORT, config.HOST, () => {
    const addr = server.address();
    log.info('listening', { port: typeof addr === 'object' && addr ? addr.port : config.PORT, database: s.db.kind, blobStore: s.blobs.kind, dataDir: config.dataDir });
  });
  const repoById = (id: number) => s.repos.byId(id);
  // Finish what a crash or `?wait=0` left unpublished, now and then periodically.
  void s.publisher.sweep(repoById);
  const sweeper = setInterval(() => void s.publisher.sweep(repoById, true).catch(() => undefined), config.PUBLISH_SWEEP_SECONDS * 1000);
  sweeper.unref();
  const stop = () => {
    clearInterval(sweeper);
    server.close(() => void s.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`artifactd: fatal: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
