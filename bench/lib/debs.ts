/** Synthetic .debs for the benchmarks (ar + control.tar.gz + data.tar.gz, made in-process: dpkg-deb would take minutes for 10,000). */
import fs from 'node:fs';
import path from 'node:path';
import { synthDeb } from '../../test/integration/apt-tools';

/** A control file like a small real package's: relations, sections and a long description. */
export function controlOf(name: string, version: string, arch: string): string {
  return [
    `Package: ${name}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: Bench Maintainer <bench@example.org>',
    'Installed-Size: 123',
    'Depends: libc6 (>= 2.36), libbench1 (>= 1.2)',
    'Section: utils',
    'Priority: optional',
    `Homepage: https://example.org/${name}`,
    `Description: benchmark package ${name}`,
    ' A synthetic package for the artifactd apt benchmark. It has a long',
    ' description of a few lines, like most real packages do.',
    '',
  ].join('\n');
}

export function writeDebs(dir: string, prefix: string, count: number, offset = 0): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = offset; i < offset + count; i++) {
    const name = `${prefix}${String(i).padStart(5, '0')}`;
    const arch = i % 10 === 0 ? 'all' : 'amd64';
    const f = path.join(dir, `${name}_1.0-1_${arch}.deb`);
    fs.writeFileSync(f, synthDeb(controlOf(name, '1.0-1', arch), `${name}\n`));
    files.push(f);
  }
  return files;
}
