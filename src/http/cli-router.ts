/**
 * rpcli from the server: `GET /rpcli` is the CLI as one self-contained JavaScript file (the
 * esbuild bundle dist/rpcli.js: Node.js 20+ and nothing else), `GET /rpcli/install.sh` a script
 * that installs it to ~/.local/bin/rpcli with this server as the default profile:
 *   curl -fsSL http://host/rpcli/install.sh | sh
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { NotFoundError } from '../core/errors';
import type { Services } from '../services';
import { projectRoot } from '../util/project-root';
import { baseUrl } from './urls';

const BUNDLE = path.join(projectRoot, 'dist', 'rpcli.js');

/** A single-quoted shell word. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function installScript(server: string): string {
  const profile = new URL(server).host.replace(/[^A-Za-z0-9.-]/g, '-');
  return `#!/bin/sh
# Installs rpcli (the artifactd CLI) from ${server}
# into \${RPCLI_INSTALL_DIR:-~/.local/bin}, with this server as the default profile.
set -eu
server=${sq(server)}
dir="\${RPCLI_INSTALL_DIR:-$HOME/.local/bin}"
if ! command -v node >/dev/null 2>&1; then
  echo "rpcli needs Node.js 20 or later (node was not found)" >&2; exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then echo "rpcli needs Node.js 20 or later (found $(node --version))" >&2; exit 1; fi
mkdir -p "$dir"
tmp="$dir/.rpcli.$$"
if command -v curl >/dev/null 2>&1; then curl -fsSL "$server/rpcli" -o "$tmp"; else wget -qO "$tmp" "$server/rpcli"; fi
chmod 755 "$tmp"
mv "$tmp" "$dir/rpcli"
conf="\${RPCLI_CONFIG:-\${XDG_CONFIG_HOME:-$HOME/.config}/rpcli/config.json}"
if [ -e "$conf" ]; then
  echo "kept $conf; to use this server: rpcli --server $server ... (or add a profile)"
else
  mkdir -p "$(dirname "$conf")"
  printf '{"default": "%s", "profiles": {"%s": {"server": "%s"}}}\\n' ${sq(profile)} ${sq(profile)} "$server" > "$conf"
  chmod 600 "$conf"
  echo "wrote $conf (profile ${profile}); add \\"token\\" to it, or set RPCLI_TOKEN"
fi
echo "installed $dir/rpcli ($("$dir/rpcli" --version))"
case ":$PATH:" in *":$dir:"*) ;; *) echo "note: $dir is not on your PATH" ;; esac
`;
}

export function cliRouter(s: Services): Router {
  const r = express.Router();
  r.get('/rpcli', async (_req, res) => {
    if (!fs.existsSync(BUNDLE)) throw new NotFoundError('the rpcli bundle is not built on this server (npm run build makes dist/rpcli.js)');
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/javascript; charset=utf-8');
    await new Promise<void>((resolve, reject) => res.sendFile(BUNDLE, { dotfiles: 'allow' }, (e) => (e ? reject(e) : resolve())));
  });
  r.get('/rpcli/install.sh', (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/x-shellscript; charset=utf-8').send(installScript(baseUrl(s, req)));
  });
  return r;
}
