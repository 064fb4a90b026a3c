/**
 * `tar`: plain downloads of any file (tarballs, zips, binaries). No index to publish:
 * the directory listings under /repo/tar/<repo>/ are the index.
 * Layout: <name>/<version>/<filename>; `<name>/latest/<filename>` redirects to the newest version.
 */
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../src/core/errors';
import { checkFileName, checkPackageToken } from '../../src/core/names';
import type { ParsedPackage, Provider, SetupContext, SetupSnippet, UploadInput } from '../../src/core/provider';
import { tarInstallCommand } from './install';
import { compareLooseVersions } from './version';

const params = z
  .object({
    name: z.string({ error: 'name is required for tar uploads' }).min(1, 'name is required for tar uploads'),
    version: z.string({ error: 'version is required for tar uploads' }).min(1, 'version is required for tar uploads'),
    filename: z.string().optional(),
  })
  .transform((p) => ({ ...p }) as Record<string, string>);

export const tarProvider: Provider = {
  name: 'tar',
  title: 'Tarballs and plain files',
  uploadParams: params,
  selfDescribing: false,
  capabilities: { yank: 'hidden', entriesSignedByRepoKey: false },
  settings: { schema: {}, inIndex: [] },
  // No `detect`: tar accepts any file, so it is only used when asked for.

  async parse(input: UploadInput): Promise<ParsedPackage> {
    const name = checkPackageToken('name', input.params.name);
    const version = checkPackageToken('version', input.params.version);
    if (name === 'latest' || version === 'latest') throw new BadRequestError('"latest" is reserved for the newest-version redirect');
    const filename = checkFileName(input.params.filename || input.file.clientFilename || `${name}-${version}`, 'file name');
    return {
      name,
      version,
      arch: '',
      filename,
      path: `${name}/${version}/${filename}`,
      partition: name,
      meta: {},
      indexData: {},
      attachments: [],
    };
  },

  async renderEntry() {
    return { entry: '' };
  },

  async scopesFor() {
    return [];
  },

  async buildIndex() {
    return [];
  },

  compareVersions: compareLooseVersions,

  routes: [
    {
      path: '/:name/latest/:filename',
      async handler(ctx, req, res) {
        const files = await ctx.packageFiles(String(req.params.name));
        if (files.length === 0) throw new NotFoundError(`no package "${req.params.name}"`);
        const newest = [...new Set(files.map((f) => f.version))].sort(compareLooseVersions).at(-1)!;
        // The file name may carry the version (`cpython-3.8.0b1.tar.gz`): match the requested
        // name first, then the newest version's only file.
        const inNewest = files.filter((f) => f.version === newest);
        const wanted = String(req.params.filename);
        const match = inNewest.find((f) => f.filename === wanted) ?? (inNewest.length === 1 ? inNewest[0] : undefined);
        if (!match) throw new NotFoundError(`${wanted} is not in the newest version ${newest}`);
        res.redirect(302, `${ctx.repoUrl}/${match.path.split('/').map(encodeURIComponent).join('/')}`);
      },
    },
  ],

  installCommand: tarInstallCommand,

  async setup(ctx: SetupContext): Promise<SetupSnippet[]> {
    return [
      {
        title: 'Upload a file',
        language: 'shell',
        code: `curl -fsS -H "Authorization: Bearer $ARTIFACTD_TOKEN" \\\n  -F 'f=@myapp-1.0.tar.gz' \\\n  '${ctx.baseUrl}/addpkg?provider=tar&reponame=${ctx.repo.name}&name=myapp&version=1.0'`,
      },
      { title: 'Download the newest version', language: 'shell', code: `curl -fLO '${ctx.repoUrl}/myapp/latest/myapp-1.0.tar.gz'` },
      { title: 'Verify the checksum', language: 'shell', code: `curl -fsS '${ctx.repoUrl}/myapp/1.0/myapp-1.0.tar.gz.sha256' | sha256sum -c -` },
    ];
  },
  // Remote: any HTTP base URL; a file is fetched on its first request and kept (issue 14).
  remote: {
    target: (path, ctx) => (path && !path.endsWith('/') ? { kind: 'package', url: `${ctx.upstream.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}` } : null),
  },
};
