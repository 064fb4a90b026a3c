/**
 * An administrator's changes to a repository (settings, signing keys), shared by the JSON API
 * and the UI. Each change and its event (`repository.settings_changed`, `key.rotated`) commit
 * in one transaction, as package events do (src/core/events.ts): a crash after the commit
 * cannot lose the event, and a change that fails leaves no event behind.
 *
 * Where the change shows in the indexes (a new key, an index setting), the same transaction
 * requests a republish of every scope and the event is held until those seqs are published,
 * so a receiver that fetches the index on `key.rotated` gets the re-signed one; after a crash
 * the publish sweep finishes the republish and the event then goes out.
 */
import type { EntityManager } from 'typeorm';
import type { Services } from '../services';
import type { EventType } from './events';
import type { PublicKeyInfo } from './keys/key-service';
import type { Provider, RepoInfo } from './provider';
import { SeqTargets } from './publisher';
import { RepoService } from './repo-service';
import { changesIndexes } from './settings';

type ChangeServices = Pick<Services, 'events' | 'keys' | 'publisher' | 'renderer' | 'repos'>;

/** Inside the change's transaction: its event, held for a republish of `scopes` if there are any. */
async function emitInTx(s: ChangeServices, m: EntityManager, type: EventType, repo: RepoInfo, scopes: string[], details: Record<string, unknown>): Promise<SeqTargets> {
  if (scopes.length === 0) {
    await s.events.emit(type, repo, null, details, m);
    return new SeqTargets();
  }
  // Settings and keys are no file rows: the keys cached by publishes stay valid (src/core/key-cache.ts).
  const targets = await s.publisher.requestInTx(m, repo.id, scopes, []);
  await s.events.emitWhenPublished(m, type, repo, null, targets, details);
  return targets;
}

/** After the commit: publish what the transaction requested; returns the scopes republished. */
async function publishRequested(s: ChangeServices, repo: RepoInfo, targets: SeqTargets): Promise<string[]> {
  s.events.wake();
  await s.publisher.ensurePublished(repo, targets);
  return [...targets.keys()].sort();
}

export async function changeSettings(s: ChangeServices, provider: Provider, repo: RepoInfo, patch: Record<string, unknown>): Promise<{ updated: RepoInfo; republished: string[] }> {
  // The scopes under the new settings (they may add arches), rows created before the transaction.
  const scopes = changesIndexes(provider, patch) ? await s.publisher.allScopes(RepoService.patched(repo, patch)) : [];
  let targets = new SeqTargets();
  const updated = await s.repos.updateSettings(repo, patch, async (m, next) => {
    targets = await emitInTx(s, m, 'repository.settings_changed', next, scopes, { changed: patch, settings: next.settings });
  });
  return { updated, republished: await publishRequested(s, updated, targets) };
}

/**
 * After the key commit: formats whose entries carry a repository-key signature (pacman's
 * %PGPSIG%) render every entry again, so old uploads verify with the new key; the others
 * only need the indexes the transaction requested.
 */
async function afterKeyChange(s: ChangeServices, provider: Provider, repo: RepoInfo, kind: 'openpgp' | 'rsa', targets: SeqTargets): Promise<string[]> {
  if (kind === 'openpgp' && provider.capabilities.entriesSignedByRepoKey) {
    s.events.wake();
    return (await s.renderer.reindex(provider, repo)).republished;
  }
  return publishRequested(s, repo, targets);
}

export async function importKey(s: ChangeServices, provider: Provider, repo: RepoInfo, armoredPrivateKey: string): Promise<{ key: PublicKeyInfo; republished: string[] }> {
  const scopes = await s.publisher.allScopes(repo);
  let targets = new SeqTargets();
  const key = await s.keys.importOpenPgp(repo, armoredPrivateKey, async (m, keys) => {
    const fingerprint = keys.find((k) => k.kind === 'openpgp' && k.active)?.fingerprint;
    targets = await emitInTx(s, m, 'key.rotated', repo, scopes, { kind: 'openpgp', imported: true, fingerprint });
  });
  return { key, republished: await afterKeyChange(s, provider, repo, 'openpgp', targets) };
}

export async function rotateKey(s: ChangeServices, provider: Provider, repo: RepoInfo, kind: 'openpgp' | 'rsa', retire: boolean): Promise<{ keys: PublicKeyInfo[]; republished: string[] }> {
  const scopes = await s.publisher.allScopes(repo);
  let targets = new SeqTargets();
  const keys = await s.keys.rotate(repo, kind, retire, async (m, now) => {
    const active = now.filter((k) => k.active && k.kind === kind).map((k) => k.fingerprint);
    targets = await emitInTx(s, m, 'key.rotated', repo, scopes, { kind, retired: retire, active });
  });
  return { keys, republished: await afterKeyChange(s, provider, repo, kind, targets) };
}
