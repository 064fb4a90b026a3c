import fs from 'node:fs';
import path from 'node:path';

/** The directory holding package.json: works from src/ (tsx) and from dist/src/ (compiled). */
function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'templates'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const projectRoot = findRoot(__dirname);
