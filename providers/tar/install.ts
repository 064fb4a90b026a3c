/** The package page's "install" for plain files: download this exact file with curl, keeping its name. */
import type { InstallContext, InstallTarget } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';

export function tarInstallCommand(pkg: InstallTarget, ctx: InstallContext): string {
  return `curl -fLO ${shellQuote(`${ctx.repoUrl}/${pkg.path.split('/').map(encodeURIComponent).join('/')}`)}`;
}
