#!/usr/bin/env node
// rpcli launcher: the bundled CLI (dist/rpcli.js, made by `npm ci` / `npm run build`) when it is
// newer than the CLI's sources; otherwise the TypeScript sources through tsx (a checkout being edited).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'rpcli.js');

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

let fresh = false;
try {
  fresh = fs.statSync(bundle).mtimeMs >= Math.max(newest(path.join(root, 'src', 'cli')), newest(path.join(root, 'src', 'util')));
} catch {
  fresh = false;
}
if (fresh) {
  require(bundle);
} else {
  require('tsx/cjs');
  require('../src/cli/main.ts').run();
}
