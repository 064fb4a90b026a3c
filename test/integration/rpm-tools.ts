/**
 * Real dnf and zypper against the running server, isolated from the host: dnf with
 * --installroot, --releasever (Debian has no $releasever), its own reposdir holding the
 * served `.repo` file, its own cachedir, and skip_if_unavailable=False (Debian's dnf.conf sets
 * True, and a repository that fails its signature check would then be skipped with exit 0);
 * zypper with --root. Commands run asynchronously: the server lives in this process.
 * Also a tampering proxy (a valid signature by another key instead of repomd.xml.asc) that
 * proves a client run can fail (it also records the request paths the clients send), and a
 * createrepo_c/XML reader for comparisons.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as openpgp from 'openpgp';

export const isRoot = process.getuid?.() === 0;
function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
export const dnfSkip: string | false = !isRoot ? 'dnf --installroot needs root' : !have('dnf') || !have('rpmbuild') ? 'dnf or rpmbuild is not installed (apt-get install dnf rpm)' : false;
export const zypperSkip: string | false = !isRoot ? 'zypper --root needs root' : !have('zypper') ? 'zypper is not installed' : false;
export const createrepoSkip: string | false = !have('createrepo_c') ? 'createrepo_c is not installed (apt-get install createrepo-c)' : false;

export interface RunResult {
  code: number | null;
  out: string;
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C.UTF-8', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

export interface DnfClient {
  root: string;
  reposdir: string;
  /** Writes a `.repo` file into the client's reposdir (replacing the others). */
  setRepoFile(name: string, text: string): void;
  dnf(args: string[]): Promise<RunResult>;
}

export function dnfClient(dir: string, name: string): DnfClient {
  const root = path.join(dir, `${name}-root`);
  const reposdir = path.join(dir, `${name}-repos`);
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(reposdir, { recursive: true });
  return {
    root,
    reposdir,
    setRepoFile(file, text) {
      for (const f of fs.readdirSync(reposdir)) fs.rmSync(path.join(reposdir, f));
      fs.writeFileSync(path.join(reposdir, file), text);
    },
    dnf: (args) =>
      run('dnf', [
        '-y',
        `--installroot=${root}`,
        '--releasever=9',
        `--setopt=reposdir=${reposdir}`,
        `--setopt=cachedir=${path.join(root, 'cache')}`,
        '--setopt=skip_if_unavailable=False',
        '--setopt=install_weak_deps=False',
        ...args,
      ]),
  };
}

export function zypper(root: string, args: string[]): Promise<RunResult> {
  return run('zypper', ['--non-interactive', '--root', root, ...args]);
}

/**
 * A proxy to the server that, while `tamper` is on, answers every `repomd.xml.asc` with a
 * valid armored signature over the same repomd.xml made by another key, and `/otherkey` with
 * that key. A client that verifies must then fail.
 */
export interface TamperProxy {
  url: string;
  tamper: boolean;
  otherKeyArmored: string;
  /** Every request path as the client sent it (undecoded), oldest first. */
  requests: string[];
  close(): Promise<void>;
}

export async function tamperProxy(target: string): Promise<TamperProxy> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'not the repository' }], format: 'armored' });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  const state = { tamper: false };
  const requests: string[] = [];
  const target_ = new URL(target);
  /** GET/HEAD through to the server with the client's Host header, so URLs the server writes (.repo baseurl) name the proxy. */
  const forward = (req: http.IncomingMessage, url = req.url!, method = req.method!): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = http.request({ host: target_.hostname, port: target_.port, path: url, method, headers: { host: req.headers.host!, accept: req.headers.accept ?? '*/*' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks) }));
        r.on('error', reject);
      });
      up.on('error', reject);
      up.end();
    });
  const server = http.createServer(async (req, res) => {
    requests.push(req.url!);
    try {
      if (req.url === '/otherkey') return void res.end(publicKey);
      const upstream = await forward(req);
      let body = upstream.body;
      if (state.tamper && upstream.status === 200 && req.url!.endsWith('/repomd.xml.asc')) {
        const repomd = (await forward(req, req.url!.slice(0, -'.asc'.length), 'GET')).body;
        body = Buffer.from((await openpgp.sign({ message: await openpgp.createMessage({ binary: repomd }), signingKeys: key, detached: true, format: 'armored' })) as string);
      }
      const headers: Record<string, string> = { 'content-type': String(upstream.headers['content-type'] ?? 'application/octet-stream') };
      if (req.method !== 'HEAD' || upstream.headers['content-length'] === undefined) headers['content-length'] = String(body.length);
      else headers['content-length'] = String(upstream.headers['content-length']);
      if (upstream.headers.location) headers.location = String(upstream.headers.location);
      res.writeHead(upstream.status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get tamper() {
      return state.tamper;
    },
    set tamper(v: boolean) {
      state.tamper = v;
    },
    otherKeyArmored: publicKey,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * primary/filelists/other read with Python's ElementTree (independent of the code under test),
 * normalized per package id: every field createrepo_c writes, dependency lists and files sorted.
 * `time file` is left out: createrepo_c writes the file's mtime, which differs by design.
 */
const NORMALIZE = String.raw`
import gzip, json, sys, xml.etree.ElementTree as ET
C='{http://linux.duke.edu/metadata/common}'; R='{http://linux.duke.edu/metadata/rpm}'
F='{http://linux.duke.edu/metadata/filelists}'; O='{http://linux.duke.edu/metadata/other}'
def load(p): return ET.fromstring(gzip.open(p).read() if p.endswith('.gz') else open(p,'rb').read())
def t(e): return (e.text or '') if e is not None else ''
def files(pkg, ns): return sorted([(f.get('type') or 'file') + ' ' + (f.text or '') for f in pkg.findall(ns+'file')])
out = {}
primary, filelists, other = sys.argv[1:4]
for p in load(primary).findall(C+'package'):
    pid = p.find(C+'checksum').text
    fmt = p.find(C+'format')
    d = {'name': t(p.find(C+'name')), 'arch': t(p.find(C+'arch')), 'version': dict(p.find(C+'version').attrib),
         'checksum': dict(p.find(C+'checksum').attrib), 'summary': t(p.find(C+'summary')), 'description': t(p.find(C+'description')),
         'packager': t(p.find(C+'packager')), 'url': t(p.find(C+'url')), 'build': p.find(C+'time').get('build'),
         'size': dict(p.find(C+'size').attrib), 'location': p.find(C+'location').get('href')}
    for k in ['license','vendor','group','buildhost','sourcerpm']: d[k] = t(fmt.find(R+k))
    d['header-range'] = dict(fmt.find(R+'header-range').attrib)
    for k in ['provides','requires','conflicts','obsoletes','suggests','enhances','recommends','supplements']:
        e = fmt.find(R+k)
        d[k] = sorted([json.dumps(x.attrib, sort_keys=True) for x in e.findall(R+'entry')]) if e is not None else []
    d['primary-files'] = files(fmt, C)
    out[pid] = d
for p in load(filelists).findall(F+'package'):
    out[p.get('pkgid')]['filelists'] = {'name': p.get('name'), 'arch': p.get('arch'), 'version': dict(p.find(F+'version').attrib), 'files': files(p, F)}
for p in load(other).findall(O+'package'):
    out[p.get('pkgid')]['other'] = {'name': p.get('name'), 'version': dict(p.find(O+'version').attrib),
        'changelog': [[c.get('author'), c.get('date'), c.text or ''] for c in p.findall(O+'changelog')]}
print(json.dumps(out, sort_keys=True))
`;

export function normalizedRepodata(primary: string, filelists: string, other: string): Record<string, Record<string, unknown>> {
  return JSON.parse(execFileSync('python3', ['-c', NORMALIZE, primary, filelists, other], { encoding: 'utf8', maxBuffer: 1 << 28 }));
}

/** The data files a repomd.xml lists, by type. */
export function repomdLocations(repomd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of repomd.matchAll(/<data type="([^"]+)">[\s\S]*?<location href="([^"]+)"/g)) out[m[1]] = m[2];
  return out;
}
