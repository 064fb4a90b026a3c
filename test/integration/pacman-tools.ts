/**
 * Shared pieces of the pacman integration tests: a real pacman client isolated from the host
 * (its own --config --dbpath --root --cachedir --gpgdir --hookdir --logfile), trusting a
 * repository key fetched from the server with pacman-key, a throwaway gpg packager key, and a
 * reader for served sync databases.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import tar from 'tar-stream';

const run = promisify(execFile);
/** English messages whatever the host's locale; no host GNUPGHOME. */
const ENV = { ...process.env, LANG: 'C', LC_ALL: 'C', GNUPGHOME: '/nonexistent-use-gpgdir' };

export const isRoot = process.getuid?.() === 0;
export const pacmanSkip: string | false = !isRoot
  ? 'needs root (pacman -S into a temporary root, makepkg as an unprivileged user)'
  : spawnSync('pacman', ['--version']).status !== 0 || spawnSync('makepkg', ['--version']).status !== 0
    ? 'pacman or makepkg not installed'
    : false;

export interface RepoLine {
  name: string;
  /** The `Server =` value, with `$arch` left for pacman to expand. */
  server: string;
  sigLevel?: string;
}

export interface PacmanClient {
  dir: string;
  conf: string;
  gpgdir: string;
  pacman(...args: string[]): Promise<string>;
  /** Like pacman() but resolves with the exit code and all output instead of throwing. */
  pacmanResult(...args: string[]): Promise<{ code: number; out: string }>;
  key(...args: string[]): Promise<string>;
  /** pacman-key --init, --add <armored key>, --lsign-key <fingerprint>. */
  trust(armoredKey: string, fingerprint: string): Promise<void>;
  close(): void;
}

/**
 * A pacman with nothing taken from the host: own config, db, root, cache, keyring, hooks and log.
 * `repos` is a list of repositories, or pacman.conf text to put after `[options]` as it is.
 */
export function pacmanClient(root: string, name: string, arch: string, repos: RepoLine[] | string): PacmanClient {
  const dir = path.join(root, `client-${name}`);
  for (const d of ['db', 'root', 'cache', 'gnupg', 'hooks']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'pacman.conf');
  fs.writeFileSync(conf, [
    '[options]',
    `Architecture = ${arch}`,
    'SigLevel = Required DatabaseRequired',
    ...(typeof repos === 'string' ? ['', repos] : repos.flatMap((r) => ['', `[${r.name}]`, ...(r.sigLevel ? [`SigLevel = ${r.sigLevel}`] : []), `Server = ${r.server}`])),
    '',
  ].join('\n'));
  const gpgdir = path.join(dir, 'gnupg');
  const common = ['--config', conf, '--dbpath', path.join(dir, 'db'), '--root', path.join(dir, 'root'), '--cachedir', path.join(dir, 'cache'),
    '--gpgdir', gpgdir, '--hookdir', path.join(dir, 'hooks'), '--logfile', path.join(dir, 'pacman.log'), '--noconfirm'];
  const pacmanResult = async (...args: string[]) => {
    try {
      const r = await run('pacman', [...common, ...args], { timeout: 120_000, env: ENV, maxBuffer: 64 << 20 });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
      return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}${typeof err.code === 'number' ? '' : err.message}` };
    }
  };
  const pacman = async (...args: string[]) => {
    const r = await pacmanResult(...args);
    if (r.code !== 0) throw new Error(`pacman ${args.join(' ')} exited ${r.code}:\n${r.out}`);
    return r.out;
  };
  const key = async (...args: string[]) => {
    const r = await run('pacman-key', ['--gpgdir', gpgdir, '--config', conf, ...args], { timeout: 120_000, env: ENV });
    return r.stdout + r.stderr;
  };
  return {
    dir,
    conf,
    gpgdir,
    pacman,
    pacmanResult,
    key,
    async trust(armoredKey, fingerprint) {
      const keyFile = path.join(dir, `key-${fingerprint}.asc`);
      fs.writeFileSync(keyFile, armoredKey);
      if (!fs.existsSync(path.join(gpgdir, 'pubring.gpg')) && !fs.existsSync(path.join(gpgdir, 'pubring.kbx'))) await key('--init');
      await key('--add', keyFile);
      await key('--lsign-key', fingerprint);
    },
    close() {
      // Stop the gpg-agent that pacman-key started for this keyring (ours).
      spawnSync('gpgconf', ['--homedir', gpgdir, '--kill', 'all'], { stdio: 'ignore' });
    },
  };
}

/** Fingerprint of an armored public key, as gpg prints it (uppercase hex). */
export function fingerprintOf(armored: string, scratch: string): string {
  const home = fs.mkdtempSync(path.join(scratch, 'gpg-show-'));
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys'], { input: armored, encoding: 'utf8' });
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
  const fpr = /^fpr:(?:[^:]*:){8}([0-9A-F]{40,64}):/m.exec(r.stdout);
  if (!fpr) throw new Error(`no fingerprint in gpg --show-keys output: ${r.stdout}${r.stderr}`);
  return fpr[1]!;
}

/** A throwaway gpg key standing in for a packager: signs package files like makepkg --sign does. */
export interface PackagerKey {
  /** The GNUPGHOME holding the secret key (for repo-add -s -k). */
  home: string;
  fingerprint: string;
  armoredPublic: string;
  /** Binary detached signature (gpg --detach-sign --no-armor). */
  sign(file: string): Buffer;
  close(): void;
}

export function packagerKey(scratch: string, uid = 'Test Packager <packager@example.org>'): PackagerKey {
  const home = fs.mkdtempSync(path.join(scratch, 'gpg-packager-'));
  fs.chmodSync(home, 0o700);
  const gpg = (args: string[], input?: string) => {
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, encoding: 'buffer' });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const colons = gpg(['--with-colons', '--list-secret-keys']).toString();
  const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40,64}):/m.exec(colons)![1]!;
  return {
    home,
    fingerprint,
    armoredPublic: gpg(['--armor', '--export', fingerprint]).toString(),
    sign(file) {
      const out = `${file}.sig`;
      gpg(['--yes', '--detach-sign', '--no-armor', '--local-user', fingerprint, '--output', out, file]);
      return fs.readFileSync(out);
    },
    close() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    },
  };
}

export interface DbEntry {
  desc: string;
  files?: string;
}

/** The `<name>-<version>/{desc,files}` entries of a (gzip) sync database. */
export async function readDb(data: Buffer): Promise<Map<string, DbEntry>> {
  const out = new Map<string, DbEntry>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        const m = /^([^/]+)\/(desc|files)$/.exec(header.name);
        if (m) {
          const e = out.get(m[1]!) ?? { desc: '' };
          e[m[2] as 'desc' | 'files'] = Buffer.concat(chunks).toString('utf8');
          out.set(m[1]!, e);
        }
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(zlib.gunzipSync(data));
  await done;
  return out;
}

/** The `%KEY%` sections of a desc file, in order. */
export function descFields(desc: string): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const block of desc.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '');
    if (lines.length === 0) continue;
    out.push([lines[0]!.replace(/^%|%$/g, ''), lines.slice(1)]);
  }
  return out;
}

/** Server access-log lines (msg 'request') as parsed objects. */
export function requests(logLines: string[]): Array<{ method: string; path: string; status: number }> {
  const out: Array<{ method: string; path: string; status: number }> = [];
  for (const l of logLines) {
    try {
      const o = JSON.parse(l) as { msg?: string; method: string; path: string; status: number };
      if (o.msg === 'request') out.push({ method: o.method, path: decodeURIComponent(o.path), status: o.status });
    } catch {
      // not a JSON log line
    }
  }
  return out;
}
