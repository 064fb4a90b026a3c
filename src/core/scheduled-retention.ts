/**
 * The periodic maintenance pass: every repository's retention rules (src/core/retention.ts)
 * and the audit log's own retention. It runs under the cross-instance lock, so with several
 * instances one of them does each pass and the others find nothing left to do.
 */
import type { Services } from '../services';
import { getProvider } from './provider-registry';
import { runWithContext, SYSTEM_ACTOR } from './request-context';
import { hasRules, rulesOf } from './retention';

export async function runScheduledRetention(s: Services): Promise<{ repos: number; removedFiles: number }> {
  return runWithContext({ actor: SYSTEM_ACTOR, clientIp: '', baseUrl: s.events.fallbackBaseUrl }, () =>
    s.locks.withLock('retention', async () => {
      let repos = 0;
      let removedFiles = 0;
      for (const stored of await s.repos.list()) {
        const repo = s.publisher.scopeContext(stored).repo;
        const rules = rulesOf(repo.settings);
        if (!hasRules(rules)) continue;
        repos++;
        try {
          removedFiles += (await s.packages.applyRetention(repo, getProvider(repo.provider), rules)).length;
        } catch (e) {
          s.log.error('scheduled retention failed', { repo: `${repo.provider}/${repo.name}`, error: String(e) });
        }
      }
      const pruned = await s.audit.prune(s.config.AUDIT_RETENTION_DAYS);
      s.log.info('scheduled retention', { repos, removedFiles, auditEntriesPruned: pruned });
      return { repos, removedFiles };
    }),
  );
}
