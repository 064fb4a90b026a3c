/**
 * Client setup snippets: pip (command line and pip.conf), uv (pyproject.toml and uv pip)
 * and twine uploads to the legacy API.
 */
import type { InstallContext, InstallTarget, SetupContext, SetupSnippet } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';

/** pip only trusts plain HTTP for localhost; any other http:// host needs --trusted-host. */
function trustedHost(indexUrl: string): string | null {
  const u = new URL(indexUrl);
  if (u.protocol !== 'http:') return null;
  if (['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return null;
  return u.hostname;
}

export async function setup(ctx: SetupContext): Promise<SetupSnippet[]> {
  const index = `${ctx.repoUrl}/simple/`;
  const pkg = ctx.partitions[0] ?? '<package>';
  const host = trustedHost(index);
  const trust = host ? ` --trusted-host ${host}` : '';
  // uv index names: letters, digits, '-', '_', '.'
  const uvName = ctx.repo.name.replace(/[^A-Za-z0-9._-]/g, '-') || 'artifactd';
  return [
    { title: 'Install with pip', language: 'shell', code: `pip install --index-url ${index}${trust} ${pkg}` },
    {
      title: 'pip.conf (~/.config/pip/pip.conf) to use this index by default',
      language: 'ini',
      code: `[global]\nindex-url = ${index}\n${host ? `trusted-host = ${host}\n` : ''}`,
    },
    {
      title: 'uv: pyproject.toml',
      language: 'toml',
      code: `[[tool.uv.index]]\nname = "${uvName}"\nurl = "${index}"\n`,
    },
    {
      title: 'Install with uv',
      language: 'shell',
      code: `uv pip install --index-url ${index}${host ? ` --allow-insecure-host ${host}` : ''} ${pkg}`,
    },
    {
      title: 'Upload with twine (token as password)',
      language: 'shell',
      code: `twine upload --repository-url ${ctx.repoUrl}/legacy/ -u __token__ -p <TOKEN> dist/*`,
    },
  ];
}

/** `pip install name==version` from this repository's simple index (PEP 503), with --trusted-host where pip needs it. */
export function pypiInstallCommand(pkg: InstallTarget, ctx: InstallContext): string {
  const index = `${ctx.repoUrl}/simple/`;
  const host = trustedHost(index);
  return `pip install --index-url ${index}${host ? ` --trusted-host ${host}` : ''} ${shellQuote(`${pkg.name}==${pkg.version}`)}`;
}
