/**
 * A small apt repository for index tests: real .debs built with dpkg-deb, parsed by the
 * provider, turned into the EntryRows the core would store, and a PublishContext over them.
 */
import { parseRendered } from '../../helpers/provider';
import fs from 'node:fs';
import path from 'node:path';
import { aptProvider } from '../../../providers/apt';
import type { EntryRow, PublishContext, RepoInfo, RepoSigner } from '../../../src/core/provider';
import { buildDeb, controlText, tmpDir, uploadInput } from './helpers';

export interface FixturePackage {
  control: Record<string, string>;
  dist?: string;
  component?: string;
}

export interface FixtureRepo {
  dir: string;
  rows: EntryRow[];
  /** Where each row's .deb was built. */
  debs: Map<number, string>;
  context(scope: string, signer: RepoSigner, repo: RepoInfo, now?: Date): PublishContext;
}

export async function fixtureRepo(pkgs: FixturePackage[]): Promise<FixtureRepo> {
  const dir = tmpDir('apt-repo-');
  const rows: EntryRow[] = [];
  const debs = new Map<number, string>();
  let id = 0;
  for (const pkg of pkgs) {
    const deb = buildDeb(dir, controlText({ Maintainer: 'Test <test@example.org>', Description: 'test package', ...pkg.control }), 'xz');
    const input = uploadInput(deb, { dist: pkg.dist ?? 'stable', component: pkg.component ?? 'main' });
    const p = await parseRendered(aptProvider, input);
    id++;
    rows.push({
      id,
      name: p.name,
      version: p.version,
      arch: p.arch,
      filename: p.filename,
      path: p.path,
      partition: p.partition,
      entry: p.entry,
      meta: p.meta,
      size: input.file.size,
      hashes: input.file.hashes,
      createdAt: new Date(),
      yanked: null,
    });
    debs.set(id, deb);
  }
  return {
    dir,
    rows,
    debs,
    context(scope, signer, repo, now = new Date()) {
      return {
        repo,
        scope,
        now,
        signer,
        partitions: async () => [...new Set(rows.map((r) => r.partition))],
        entries: async (parts?: string[]) => rows.filter((r) => !parts || parts.includes(r.partition)),
      };
    },
  };
}

/** Write the published files and the pool under `root`, as the server would serve them. */
export function writeRepo(root: string, files: { path: string; data: Buffer }[], repo: FixtureRepo): void {
  for (const f of files) {
    fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(root, f.path), f.data);
  }
  for (const row of repo.rows) {
    fs.mkdirSync(path.join(root, path.dirname(row.path)), { recursive: true });
    fs.copyFileSync(repo.debs.get(row.id)!, path.join(root, row.path));
  }
}
