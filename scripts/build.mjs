#!/usr/bin/env node
/**
 * Builds what `npm start` and rpcli run, with esbuild (already installed: tsx uses it):
 *   dist/server.js  the server, one file; npm packages stay external (native modules)
 *   dist/zstd-worker.js  the zstd decoder's worker thread, loaded from beside server.js
 *   dist/hash-worker.js  the upload digests' worker thread, likewise
 *   dist/rpcli.js   the CLI, one self-contained file (no node_modules needed: GET /rpcli serves it)
 * `--if-stale` skips the build when both outputs are newer than every source file, so
 * `npm start` costs a few stat calls when nothing changed. Runs on `npm ci` (prepare).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['src', 'providers', 'migrations', 'package.json'];
const OUTPUTS = ['dist/server.js', 'dist/zstd-worker.js', 'dist/hash-worker.js', 'dist/rpcli.js'];

function newestMtime(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

export function isStale() {
  const outputs = OUTPUTS.map((o) => path.join(root, o));
  if (!outputs.every((o) => fs.existsSync(o))) return true;
  const built = Math.min(...outputs.map((o) => fs.statSync(o).mtimeMs));
  return SOURCES.some((s) => newestMtime(path.join(root, s)) > built);
}

export async function build() {
  const esbuild = await import('esbuild');
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'linked', logLevel: 'warning', absWorkingDir: root, define: { __ARTIFACTD_VERSION__: JSON.stringify(version) } };
  await Promise.all([
    esbuild.build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/server.js', packages: 'external' }),
    // Loaded by path from beside the server bundle (src/util/zstd.ts): `<dir of server.js>/zstd-worker.js`.
    esbuild.build({ ...common, entryPoints: ['src/util/zstd-worker.ts'], outfile: 'dist/zstd-worker.js', packages: 'external' }),
    esbuild.build({ ...common, entryPoints: ['src/util/hash-worker.ts'], outfile: 'dist/hash-worker.js', packages: 'external' }),
    // The CLI imports node builtins only: bundled whole, it runs anywhere Node 20 runs.
    esbuild.build({ ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/rpcli.js', banner: { js: '#!/usr/bin/env node' }, sourcemap: false }),
  ]);
  fs.chmodSync(path.join(root, 'dist/rpcli.js'), 0o755);
  writeCliPackage(version);
}

/**
 * dist/rpcli-package/: the CLI as an npm package of its own (no dependencies), so that
 * `npm pack dist/rpcli-package` gives a tarball `npm i -g` installs (`npm run pack:cli`).
 */
function writeCliPackage(version) {
  const dir = path.join(root, 'dist/rpcli-package');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'dist/rpcli.js'), path.join(dir, 'rpcli.js'));
  fs.chmodSync(path.join(dir, 'rpcli.js'), 0o755);
  const pkg = {
    name: 'artifactd-rpcli',
    version,
    description: 'rpcli: the command-line client of the artifactd package repository server',
    license: 'MIT',
    bin: { rpcli: 'rpcli.js' },
    files: ['rpcli.js'],
    engines: { node: '>=20' },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'README.md'), '# rpcli\n\nThe artifactd command-line client: `rpcli --help`. One file, Node.js 20+, no dependencies.\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);
  await build();
}
