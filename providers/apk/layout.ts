/**
 * Repository layout (docs/formats/apk.md#repository-layout): a line `<repoUrl>/<branch>` in /etc/apk/repositories
 * makes apk fetch `<branch>/<arch>/APKINDEX.tar.gz` and `<branch>/<A:>/<P>-<V>.apk`.
 * Partitions and index scopes are both `<branch>/<arch>`; noarch packages live in
 * `<branch>/noarch` and are listed in every architecture's index.
 */
import { z } from 'zod';
import type { RepoInfo } from '../../src/core/provider';
import { listSetting } from '../../src/core/settings';
import { ARCH_RE } from './pkginfo';

export const NOARCH = 'noarch';
/** Architectures a branch serves when the repository's settings name none (the core fills in APK_ARCHES). */
export const DEFAULT_ARCHES: readonly string[] = ['x86_64', 'aarch64'];

const SEGMENT = '[A-Za-z0-9._-]+';
const BRANCH_RE = new RegExp(`^${SEGMENT}(/${SEGMENT})?$`);

export function isValidBranch(b: string): boolean {
  return b.length <= 64 && BRANCH_RE.test(b) && !b.includes('..') && !b.split('/').includes('.');
}

/** `branch` like Alpine's `main` or `v3.20/main`: one or two path segments. Unknown keys are ignored. */
export const uploadParams = z.object({
  branch: z
    .string()
    .refine(isValidBranch, {
      message: 'branch must be 1-64 characters of letters, digits, ".", "_", "-", with at most one inner "/" (e.g. main or v3.20/main), and no ".."',
    })
    .default('main'),
});

export interface Scope {
  branch: string;
  arch: string;
}

/** Split `<branch>/<arch>`; undefined when it is not one. */
export function splitScope(scope: string): Scope | undefined {
  const i = scope.lastIndexOf('/');
  if (i <= 0) return undefined;
  const branch = scope.slice(0, i);
  const arch = scope.slice(i + 1);
  return isValidBranch(branch) && ARCH_RE.test(arch) ? { branch, arch } : undefined;
}

export const scopeOf = (branch: string, arch: string) => `${branch}/${arch}`;

/** Architectures every branch serves even before a package of that architecture exists. */
export function configuredArches(repo: RepoInfo): string[] {
  if (!Array.isArray(repo.settings.arches)) return [...DEFAULT_ARCHES];
  return listSetting(repo, 'arches', ARCH_RE).filter((a) => a !== NOARCH);
}
