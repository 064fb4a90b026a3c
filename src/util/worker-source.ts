import path from 'node:path';

/**
 * The `eval` source that starts the worker module `<name>` from beside this file: `dist/<name>.js`
 * next to the server bundle (scripts/build.mjs builds each worker there), or `src/util/<name>.ts`
 * under tsx, where the TypeScript loader has to be registered in the worker first.
 */
export function workerSource(name: string): string {
  const ext = path.extname(__filename);
  const entry = path.join(__dirname, `${name}${ext}`);
  const loader = ext === '.ts' ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});` : '';
  return `${loader}require(${JSON.stringify(entry)});`;
}
