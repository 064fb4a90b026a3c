import fs from 'node:fs';
import path from 'node:path';

/** Set by the build (scripts/build.mjs); undefined when running from source with tsx. */
declare const __ARTIFACTD_VERSION__: string | undefined;

/** The package version (package.json), in the bundles and from source alike. */
export function packageVersion(): string {
  if (typeof __ARTIFACTD_VERSION__ === 'string') return __ARTIFACTD_VERSION__;
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
