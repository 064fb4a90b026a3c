import type { Provider } from './provider';
import { BadRequestError } from './errors';
import { tarProvider } from '../../providers/tar';
import { aptProvider } from '../../providers/apt';
import { apkProvider } from '../../providers/apk';
import { pacmanProvider } from '../../providers/pacman';
import { pypiProvider } from '../../providers/pypi';
import { rpmProvider } from '../../providers/rpm';

/**
 * Every provider, in format-detection order: the most specific signatures first
 * (an apk is also gzip with a .PKGINFO, so apk is asked before pacman). `tar` accepts
 * anything and is never auto-detected.
 */
export const providers: readonly Provider[] = [aptProvider, rpmProvider, apkProvider, pacmanProvider, pypiProvider, tarProvider];

const byName = new Map(providers.map((p) => [p.name, p]));

export function getProvider(name: string): Provider {
  const p = byName.get(name);
  if (!p) throw new BadRequestError(`unknown provider "${name}"; known providers: ${providers.map((x) => x.name).join(', ')}`);
  return p;
}

export function findProvider(name: string): Provider | undefined {
  return byName.get(name);
}
