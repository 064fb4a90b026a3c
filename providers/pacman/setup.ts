/**
 * Client setup shown in the UI/README: trust the repository key (pacman-key --add and
 * --lsign-key, needed for SigLevel's default TrustedOnly, formats.md A.6), then the
 * pacman.conf section. `$arch` is expanded by pacman from its Architecture option (A.3).
 */
import type { SetupContext, SetupSnippet } from '../../src/core/provider';

export async function pacmanSetup(ctx: SetupContext): Promise<SetupSnippet[]> {
  const pgp = await ctx.signer.openpgp();
  const fpr = pgp.fingerprint.toUpperCase();
  const name = ctx.repo.name;
  return [
    {
      title: 'Trust the repository signing key',
      language: 'shell',
      code: [
        `curl -fsSL ${ctx.repoUrl}/pubkey | sudo pacman-key --add -`,
        `sudo pacman-key --lsign-key ${fpr}`,
      ].join('\n'),
    },
    {
      title: 'Add the repository to /etc/pacman.conf',
      language: 'ini',
      code: [`[${name}]`, 'SigLevel = Required', `Server = ${ctx.repoUrl}/$arch`].join('\n'),
    },
    {
      title: 'Sync and install',
      language: 'shell',
      code: [`sudo pacman -Sy`, `sudo pacman -S ${name}/<package>`].join('\n'),
    },
  ];
}
