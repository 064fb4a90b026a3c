/**
 * Real apt-get/apt-cache against the running server over HTTP, isolated from the host's
 * apt configuration and state: APT_CONFIG points at a file of our own that replaces
 * /etc/apt/apt.conf.d (Dir::Etc::Parts) and every other Dir::* apt would touch, the date
 * checks are forced on, the repository key is a signed-by keyring downloaded from the
 * server, and nothing is marked trusted.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { tmpDir } from '../unit/apt/helpers';

export interface RunResult {
  code: number | null;
  out: string;
}

export interface AptClient {
  dir: string;
  /** Where `download` puts files (owned by _apt, so apt does not warn about an unsandboxed download). */
  dlDir: string;
  /** The APT_CONFIG file; `configText` is its content. */
  configFile: string;
  /** Runs asynchronously: the server under test lives in this process and must keep serving. */
  run(cmd: 'apt-get' | 'apt-cache', args: string[], cwd?: string): Promise<RunResult>;
  /** `apt-get update`, asserting nothing. */
  update(): Promise<RunResult>;
  /** The candidate version `apt-cache policy` shows, or null. */
  candidate(pkg: string): Promise<string | null>;
  /** Every version apt knows for a package, as `apt-cache madison` lists them (newest first). */
  versions(pkg: string): Promise<string[]>;
}

export interface ClientOptions {
  arch?: string;
  /** sources.list lines (one-line form); `KEYRING` is replaced by the keyring's path. */
  sources?: string;
  /** deb822 .sources files by name; `KEYRING` is replaced by the keyring's path. */
  sourceParts?: Record<string, string>;
  /** The keyring apt checks signatures with (binary OpenPGP packets); written as key.gpg. */
  keyring?: Buffer;
  /** auth.conf.d file content (netrc syntax), for private repositories. */
  authConf?: string;
}

/** A W: or E: line (apt's warnings and errors), which fails a test. */
export const WARN_OR_ERROR = /^(W|E|Err):/m;

export function aptClient(opts: ClientOptions): AptClient {
  const t = tmpDir('apt-http-');
  for (const d of ['etc/apt.conf.d', 'etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'etc/auth.conf.d', 'state/lists/partial', 'cache/archives/partial', 'dl']) {
    fs.mkdirSync(path.join(t, d), { recursive: true });
  }
  const keyring = path.join(t, 'key.gpg');
  if (opts.keyring) fs.writeFileSync(keyring, opts.keyring);
  const sub = (s: string) => s.replaceAll('KEYRING', keyring);
  fs.writeFileSync(path.join(t, 'etc/sources.list'), sub(opts.sources ?? ''));
  for (const [name, text] of Object.entries(opts.sourceParts ?? {})) fs.writeFileSync(path.join(t, 'etc/sources.list.d', name), sub(text));
  if (opts.authConf !== undefined) {
    fs.writeFileSync(path.join(t, 'etc/auth.conf.d/artifactd.conf'), opts.authConf);
  }
  // An empty dpkg status: apt resolves installs against nothing the host has installed.
  fs.writeFileSync(path.join(t, 'status'), '');
  const arch = opts.arch ?? 'amd64';
  const conf = [
    // Read first (APT_CONFIG), so the host's /etc/apt/apt.conf.d is never read: it turns the date checks off.
    `Dir::Etc::Parts "${t}/etc/apt.conf.d";`,
    `Dir::Etc::Main "${t}/etc/apt.conf";`,
    `Dir::Etc::SourceList "${t}/etc/sources.list";`,
    `Dir::Etc::SourceParts "${t}/etc/sources.list.d";`,
    `Dir::Etc::Preferences "${t}/etc/preferences";`,
    `Dir::Etc::PreferencesParts "${t}/etc/preferences.d";`,
    `Dir::Etc::Trusted "${t}/etc/trusted.gpg";`,
    `Dir::Etc::TrustedParts "${t}/etc/trusted.gpg.d";`,
    `Dir::Etc::netrc "${t}/etc/auth.conf";`,
    `Dir::Etc::netrcparts "${t}/etc/auth.conf.d";`,
    `Dir::State "${t}/state";`,
    `Dir::State::status "${t}/status";`,
    `Dir::Cache "${t}/cache";`,
    `Dir::Log "${t}/log";`,
    `APT::Architecture "${arch}";`,
    `APT::Architectures { "${arch}"; };`,
    'Debug::NoLocking "1";',
    'Acquire::Check-Date "true";',
    'Acquire::Check-Valid-Until "true";',
    'Acquire::Retries "0";',
    // No proxy from the environment or the host.
    'Acquire::http::Proxy "DIRECT";',
    '',
  ].join('\n');
  const configFile = path.join(t, 'apt.conf');
  fs.writeFileSync(configFile, conf);
  // _apt (apt's download sandbox user) must read the keyring and write the download dirs.
  execFileSync('chmod', ['-R', 'a+rX', t]);
  // What an administrator would do: credentials readable by root only (apt opens them before dropping to _apt).
  if (opts.authConf !== undefined) fs.chmodSync(path.join(t, 'etc/auth.conf.d/artifactd.conf'), 0o600);
  execFileSync('chown', ['-R', '_apt', path.join(t, 'dl')]);
  const env = { ...process.env, APT_CONFIG: configFile, LC_ALL: 'C.UTF-8', http_proxy: '', https_proxy: '', HTTP_PROXY: '' };
  const dlDir = path.join(t, 'dl');
  const run = (cmd: string, args: string[], cwd = t) => runCommand(cmd, args, { cwd, env });
  return {
    dir: t,
    dlDir,
    configFile,
    run,
    update: () => run('apt-get', ['update']),
    async candidate(pkg) {
      const m = /Candidate: (\S+)/.exec((await run('apt-cache', ['policy', pkg])).out);
      return m && m[1] !== '(none)' ? m[1] : null;
    },
    async versions(pkg) {
      return (await run('apt-cache', ['madison', pkg]))
        .out.split('\n')
        .map((l) => l.split('|'))
        .filter((p) => p.length >= 3 && p[0].trim() === pkg)
        .map((p) => p[1].trim());
    },
  };
}

/** Run a command without blocking the event loop (the server under test runs in this process). */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out }));
    if (opts.input !== undefined) {
      c.stdin!.on('error', () => undefined); // a child that exits without reading all of it
      c.stdin!.end(opts.input);
    }
  });
}

export async function bytes(url: string, headers: Record<string, string> = {}): Promise<Buffer> {
  const r = await fetch(url, { headers });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
  return Buffer.from(await r.arrayBuffer());
}

/** A deb822 paragraph as an ordered list of [name, value] (continuation lines kept verbatim). */
export function stanzaFields(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) out[out.length - 1][1] += '\n' + line;
    else {
      const i = line.indexOf(':');
      out.push([line.slice(0, i), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

/** Paragraphs of a Packages file (or dpkg-scanpackages output). */
export function paragraphs(text: string): [string, string][][] {
  return text
    .split(/\n\n+/)
    .filter((p) => p.trim())
    .map(stanzaFields);
}

export const field = (st: [string, string][], name: string) => st.find(([n]) => n === name)?.[1];

/**
 * Real Debian packages from the machine's own package source, fetched with the host's
 * normal apt configuration (only here). Returns null when they cannot be fetched (no
 * candidate, no network), so the caller can skip with a reason.
 */
export async function fetchDebianPackages(dir: string, names: string[]): Promise<{ files: Map<string, string>; why?: string }> {
  const files = new Map<string, string>();
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('chown', ['_apt', dir]);
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  for (const name of names) {
    const policy = await runCommand('apt-cache', ['policy', name], { env });
    if (!/Candidate: (?!\(none\))\S+/.test(policy.out)) return { files, why: `no candidate for ${name} in the host's apt sources` };
  }
  const r = await runCommand('apt-get', ['download', ...names], { cwd: dir, env });
  if (r.code !== 0) return { files, why: `apt-get download ${names.join(' ')} failed on the host: ${r.out.trim().split('\n').pop()}` };
  for (const f of fs.readdirSync(dir)) {
    const name = f.split('_')[0];
    if (names.includes(name)) files.set(name, path.join(dir, f));
  }
  return { files };
}

// ---------------------------------------------------------------------------------------
// .deb bytes synthesized in-process (ustar + ar writers): thousands per second for the
// benchmark, and the raw material for malformed uploads. dpkg-deb reads the result.

/** One ustar entry: 512-byte header, data padded to 512. */
export function tarEntry(name: string, data: Buffer, type: 'file' | 'dir' = 'file', mtime = 1_700_000_000): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, len, 'latin1');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(type === 'dir' ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(type === 'dir' ? 0 : data.length, 12), 124, 12);
  put(oct(mtime, 12), 136, 12);
  put('        ', 148, 8);
  put(type === 'dir' ? '5' : '0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  if (type === 'dir' || data.length === 0) return h;
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A complete tar: the entries and two zero blocks. */
export function tarArchive(entries: { name: string; data?: Buffer; type?: 'file' | 'dir' }[]): Buffer {
  return Buffer.concat([...entries.map((e) => tarEntry(e.name, e.data ?? Buffer.alloc(0), e.type ?? 'file')), Buffer.alloc(1024)]);
}

/** A common-format ar archive (what dpkg-deb writes). */
export function arArchiveOf(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const m of members) {
    const header = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.data.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(header, 'latin1'), m.data);
    if (m.data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export const DEBIAN_BINARY = { name: 'debian-binary', data: Buffer.from('2.0\n') };

/** control.tar.gz holding ./control (and whatever else is given). */
export function controlTarGz(control: string, extra: { name: string; data: Buffer }[] = []): Buffer {
  return zlib.gzipSync(tarArchive([{ name: './', type: 'dir' }, { name: './control', data: Buffer.from(control) }, ...extra]), { level: 1 });
}

/** data.tar.gz with one small file. */
export function dataTarGz(payload = 'hello\n'): Buffer {
  return zlib.gzipSync(
    tarArchive([
      { name: './', type: 'dir' },
      { name: './usr/', type: 'dir' },
      { name: './usr/share/', type: 'dir' },
      { name: './usr/share/doc/', type: 'dir' },
      { name: './usr/share/doc/README', data: Buffer.from(payload) },
    ]),
    { level: 1 },
  );
}

/** A well-formed .deb from a control text. */
export function synthDeb(control: string, payload?: string): Buffer {
  return arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: controlTarGz(control) }, { name: 'data.tar.gz', data: dataTarGz(payload) }]);
}
