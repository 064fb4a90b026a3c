/** The package page's install command: `apk add name=version` pins the exact version (apk-add(8), "world" constraints). */
import type { InstallTarget } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';

export function apkInstallCommand(pkg: InstallTarget): string {
  return `apk add ${shellQuote(`${pkg.name}=${pkg.version}`)}`;
}
