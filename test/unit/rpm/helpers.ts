/**
 * Real rpms for the tests, built with Debian's rpmbuild 4.18 from a spec written here, and a
 * throw-away gpg key for rpmsign. Everything lives in a temp dir; nothing touches ~/.rpmmacros
 * or the host's rpm database.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const haveRpmTools = (() => {
  try {
    execFileSync('rpmbuild', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface SpecOptions {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch: 'noarch' | 'x86_64';
  summary?: string;
  /** Extra preamble lines: Requires:, Provides:, Recommends:, ... */
  preamble?: string[];
  /** Installed files: absolute path -> content. */
  files?: Record<string, string>;
  /** Directories the package owns (%dir). */
  dirs?: string[];
  changelog?: { date: string; author: string; text: string }[];
  /** Also build the .src.rpm. */
  source?: boolean;
}

/** Shell-quote for the spec's %install (single quotes; the paths may hold spaces and unicode). */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** %files needs glob characters and spaces quoted (rpm's spec parser splits on whitespace). */
const specPath = (p: string) => `"${p.replace(/([\\*?[\]{}])/g, '\\$1')}"`;

export function specText(o: SpecOptions): string {
  const files = o.files ?? { [`/usr/share/${o.name}/README`]: `${o.name} ${o.version}\n` };
  const install = Object.entries(files).map(([p, content]) => `mkdir -p %{buildroot}${sq(path.dirname(p))}\nprintf '%s' ${sq(content)} > %{buildroot}${sq(p)}${p.includes('/bin/') ? `\nchmod 755 %{buildroot}${sq(p)}` : ''}`);
  const dirs = (o.dirs ?? []).map((d) => `mkdir -p %{buildroot}${sq(d)}`);
  const changelog = o.changelog ?? [{ date: 'Mon Jan 06 2025', author: 'Test Packager <test@example.org> - 1.0-1', text: '- first build' }];
  return [
    `Name: ${o.name}`,
    `Version: ${o.version}`,
    `Release: ${o.release ?? '1'}`,
    ...(o.epoch !== undefined ? [`Epoch: ${o.epoch}`] : []),
    `Summary: ${o.summary ?? `The ${o.name} test package`}`,
    'License: MIT',
    `URL: https://example.org/${o.name}`,
    'Group: Development/Tools',
    'Vendor: artifactd tests',
    'Packager: Test Packager <test@example.org>',
    ...(o.arch === 'noarch' ? ['BuildArch: noarch'] : []),
    // Nothing from the host's libraries: the packages must install into an empty root.
    'AutoReqProv: no',
    ...(o.preamble ?? []),
    '',
    '%description',
    `${o.name} is a package built by the artifactd tests.`,
    'It has a description of two lines & some <markup>.',
    '',
    '%install',
    ...install,
    ...dirs,
    '',
    '%files',
    ...(o.dirs ?? []).map((d) => `%dir ${specPath(d)}`),
    ...Object.keys(files).map(specPath),
    '',
    '%changelog',
    ...changelog.flatMap((c) => [`* ${c.date} ${c.author}`, c.text, '']),
  ].join('\n');
}

/** Builds the binary rpm (and with `source` the .src.rpm); returns their paths. */
export function rpmbuild(o: SpecOptions, dir: string): { rpm: string; srpm?: string } {
  const top = path.join(dir, 'rpmbuild');
  const spec = path.join(dir, `${o.name}-${o.version}.spec`);
  fs.writeFileSync(spec, specText(o));
  const defines = [
    '--define', `_topdir ${top}`,
    // No debuginfo, no brp-* post-processing (Debian's rpm lacks Fedora's redhat-rpm-config).
    '--define', 'debug_package %{nil}',
    '--define', '__os_install_post %{nil}',
    '--define', '_build_id_links none',
  ];
  execFileSync('rpmbuild', [...defines, '--target', o.arch, o.source ? '-ba' : '-bb', spec], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
  const epochless = `${o.name}-${o.version}-${o.release ?? '1'}`;
  const rpm = path.join(top, 'RPMS', o.arch, `${epochless}.${o.arch}.rpm`);
  if (!fs.existsSync(rpm)) throw new Error(`rpmbuild did not write ${rpm}`);
  const srpm = o.source ? path.join(top, 'SRPMS', `${epochless}.src.rpm`) : undefined;
  return { rpm, srpm };
}

export interface TestGpgKey {
  home: string;
  uid: string;
  fingerprint: string;
  /** Armored public key file. */
  publicKeyFile: string;
}

/** A passphrase-less RSA key in its own GNUPGHOME, for rpmsign. */
export function gpgKey(dir: string, uid = 'rpm packager <packager@example.org>'): TestGpgKey {
  const home = path.join(dir, 'gnupg');
  fs.mkdirSync(home, { mode: 0o700, recursive: true });
  const gpg = (args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--passphrase', '', '--quick-gen-key', uid, 'rsa3072', 'sign', 'never']);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys', uid]))![1];
  const publicKeyFile = path.join(dir, 'packager.asc');
  fs.writeFileSync(publicKeyFile, gpg(['--armor', '--export', fpr]));
  return { home, uid, fingerprint: fpr, publicKeyFile };
}

/** rpmsign --addsign in place (what a packager does before uploading). */
export function rpmsign(file: string, key: TestGpgKey): void {
  // Debian's rpm macros name /usr/bin/gpg2, which Debian 12 no longer ships.
  const gpg = execFileSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).trim();
  execFileSync('rpmsign', ['--addsign', '--define', `__gpg ${gpg}`, '--define', `_gpg_name ${key.fingerprint}`, '--define', `_gpg_path ${key.home}`, file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** rpm --eval with Lua's rpm.vercmp for every pair, in one process. */
export function rpmVercmp(pairs: [string, string][]): number[] {
  const lua = pairs.map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}))`).join(' print("\\n") ');
  const out = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' });
  return out.split(/\s+/).filter(Boolean).map(Number);
}
