/**
 * Packages for the UI tests, built with the real tools (dpkg-deb for .deb, Python's zipfile
 * for wheels), and one seeding routine that uploads them through /addpkg like a client would.
 * Descriptions carry HTML/script payloads so every page is exercised with hostile text.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { upload } from '../helpers/http';

export const XSS_SCRIPT = '<script>window.__xss = 1; alert("xss-script")</script>';
export const XSS_ATTR = '"><img src=x onerror="window.__xss = 2; alert(\'xss-img\')">';

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  description: string;
  depends?: string;
  homepage?: string;
}

/** A minimal binary package, built by dpkg-deb itself. */
export function makeDeb(dir: string, d: DebSpec): string {
  const root = fs.mkdtempSync(path.join(dir, 'deb-'));
  fs.mkdirSync(path.join(root, 'DEBIAN'));
  fs.mkdirSync(path.join(root, 'usr/share/doc', d.name), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/share/doc', d.name, 'README'), `${d.name} ${d.version}\n`);
  const control = [
    `Package: ${d.name}`,
    `Version: ${d.version}`,
    `Architecture: ${d.arch ?? 'all'}`,
    'Maintainer: UI Tests <ui@example.org>',
    ...(d.depends ? [`Depends: ${d.depends}`] : []),
    ...(d.homepage ? [`Homepage: ${d.homepage}`] : []),
    `Description: ${d.description}`,
    ' Long description line.',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(root, 'DEBIAN/control'), control);
  const out = path.join(dir, `${d.name}_${d.version}_${d.arch ?? 'all'}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out], { stdio: 'pipe' });
  return out;
}

export interface WheelSpec {
  name: string;
  version: string;
  summary: string;
  requires?: string[];
  license?: string;
  homePage?: string;
}

/** A pure-Python wheel written with Python's zipfile (METADATA, WHEEL, RECORD, one module). */
export function makeWheel(dir: string, w: WheelSpec): string {
  const dist = w.name.replace(/[-.]+/g, '_');
  const file = path.join(dir, `${dist}-${w.version}-py3-none-any.whl`);
  const metadata = [
    'Metadata-Version: 2.1',
    `Name: ${w.name}`,
    `Version: ${w.version}`,
    `Summary: ${w.summary}`,
    ...(w.homePage ? [`Home-page: ${w.homePage}`] : []),
    ...(w.license ? [`License: ${w.license}`] : []),
    ...(w.requires ?? []).map((r) => `Requires-Dist: ${r}`),
    '',
    '',
  ].join('\n');
  const script = `
import sys, zipfile, hashlib, base64, json
spec = json.loads(sys.argv[1])
files = {
  spec["dist"] + "/__init__.py": "VERSION = %r\\n" % spec["version"],
  spec["dist"] + "-" + spec["version"] + ".dist-info/METADATA": spec["metadata"],
  spec["dist"] + "-" + spec["version"] + ".dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: ui-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = spec["dist"] + "-" + spec["version"] + ".dist-info/RECORD"
with zipfile.ZipFile(spec["out"], "w", zipfile.ZIP_DEFLATED) as z:
  lines = []
  for name, text in files.items():
    data = text.encode()
    z.writestr(name, data)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    lines.append("%s,sha256=%s,%d" % (name, digest, len(data)))
  lines.append(record + ",,")
  z.writestr(record, "\\n".join(lines) + "\\n")
`;
  execFileSync('python3', ['-c', script, JSON.stringify({ dist, version: w.version, metadata, out: file })], { stdio: 'pipe' });
  return file;
}

async function put(url: string, file: string, query: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await upload(url, file, query);
  if (r.status !== 201) throw new Error(`seeding ${path.basename(file)} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface Seeded {
  tarPayload: Buffer;
  uploads: Record<string, Record<string, unknown>>;
}

/**
 * tar/tools: hello 1.0, 1.9, 1.10 (newest by version order, not by upload order);
 * apt/debs: libfoo, foo-tools (depends on libfoo and on a package not in the repo),
 *   evil (XSS payloads in its description), widget 1.0 and 1.0~rc1 (uploaded last; older);
 * pypi/py: idna-lite, requestz (requires Idna_Lite, a non-normalized spelling), evil-py.
 */
export async function seed(url: string, dir: string): Promise<Seeded> {
  const uploads: Record<string, Record<string, unknown>> = {};
  const tarPayload = Buffer.from('tarball bytes for hello 1.10\n'.repeat(200));
  for (const v of ['1.0', '1.9', '1.10']) {
    const f = path.join(dir, `hello-${v}.tar.gz`);
    fs.writeFileSync(f, v === '1.10' ? tarPayload : Buffer.from(`hello ${v}\n`));
    uploads[`hello-${v}`] = await put(url, f, { provider: 'tar', reponame: 'tools', name: 'hello', version: v });
  }
  uploads.libfoo = await put(url, makeDeb(dir, { name: 'libfoo', version: '1.2-1', description: 'Foo library for frobnicating', homepage: 'https://example.org/libfoo' }), { provider: 'apt', reponame: 'debs' });
  uploads['foo-tools'] = await put(url, makeDeb(dir, { name: 'foo-tools', version: '2.0-1', description: 'Command line tools for foo', depends: 'libfoo (>= 1.0), not-here | libfoo' }), { provider: 'apt', reponame: 'debs' });
  uploads.evil = await put(url, makeDeb(dir, { name: 'evil', version: '0.1', description: `evil ${XSS_SCRIPT} ${XSS_ATTR}`, homepage: 'javascript:alert(1)' }), { provider: 'apt', reponame: 'debs' });
  uploads['widget-1.0'] = await put(url, makeDeb(dir, { name: 'widget', version: '1.0', description: 'A widget' }), { provider: 'apt', reponame: 'debs' });
  uploads['widget-rc'] = await put(url, makeDeb(dir, { name: 'widget', version: '1.0~rc1', description: 'A widget (release candidate)' }), { provider: 'apt', reponame: 'debs' });
  uploads['idna-lite'] = await put(url, makeWheel(dir, { name: 'idna-lite', version: '0.1', summary: 'Tiny IDNA helpers', license: 'MIT' }), { provider: 'pypi', reponame: 'py' });
  uploads.requestz = await put(url, makeWheel(dir, { name: 'requestz', version: '1.0', summary: 'HTTP for testers', requires: ['Idna_Lite>=0.1', 'certifi-missing'], license: 'Apache-2.0', homePage: 'https://example.org/requestz' }), { provider: 'pypi', reponame: 'py' });
  uploads['evil-py'] = await put(url, makeWheel(dir, { name: 'evil-py', version: '6.6.6', summary: `evil ${XSS_ATTR} ${XSS_SCRIPT}` }), { provider: 'pypi', reponame: 'py' });
  return { tarPayload, uploads };
}
