/**
 * Test fixtures built with Python's own zipfile/tarfile (an implementation independent of the
 * code under test), plus hand-built UploadInput values.
 */
import type { TestUpload, RenderedPackage } from '../../helpers/provider';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RepoSigner, UploadInput } from '../../../src/core/provider';

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pypi-test-'));
}

/** Run a Python snippet; `args` arrive as the JSON object `A`. Returns stdout. */
export function py(code: string, args: unknown = {}): string {
  return execFileSync('python3', ['-c', `import json,sys\nA=json.loads(sys.stdin.read())\n${code}`], {
    input: JSON.stringify(args),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
}

export interface Member {
  name: string;
  /** Text content (utf-8) or base64 with `b64`. */
  text?: string;
  b64?: string;
  /** Zero bytes of this length (for bombs). */
  zeros?: number;
  /** tar only: 'dir' | 'symlink' | 'link' | 'fifo' | 'file' (default). */
  type?: string;
  linkname?: string;
  /** zip only: store instead of deflate. */
  stored?: boolean;
}

const MEMBER_DATA = `
def data(m):
    if 'b64' in m: import base64; return base64.b64decode(m['b64'])
    if 'zeros' in m: return bytes(m['zeros'])
    return m.get('text', '').encode('utf-8')
`;

export function makeZip(file: string, members: Member[], patch?: { name: string; uncompressedSize: number }): string {
  py(
    `${MEMBER_DATA}
import zipfile, struct
with zipfile.ZipFile(A['file'], 'w') as z:
    for m in A['members']:
        zi = zipfile.ZipInfo(m['name'], date_time=(2020,1,1,0,0,0))
        zi.compress_type = zipfile.ZIP_STORED if m.get('stored') else zipfile.ZIP_DEFLATED
        z.writestr(zi, data(m))
p = A.get('patch')
if p:
    # rewrite the central directory's uncompressed size of one member (a lying header)
    b = bytearray(open(A['file'], 'rb').read())
    i = 0
    while True:
        i = b.index(b'PK\\x01\\x02', i)
        n = struct.unpack('<H', b[i+28:i+30])[0]
        if bytes(b[i+46:i+46+n]).decode() == p['name']:
            struct.pack_into('<I', b, i+24, p['uncompressedSize'])
            break
        i += 4
    open(A['file'], 'wb').write(bytes(b))
`,
    { file, members, patch },
  );
  return file;
}

export function makeTarGz(file: string, members: Member[]): string {
  py(
    `${MEMBER_DATA}
import tarfile, io
types = {'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'link': tarfile.LNKTYPE, 'fifo': tarfile.FIFOTYPE}
with tarfile.open(A['file'], 'w:gz', format=tarfile.PAX_FORMAT) as t:
    for m in A['members']:
        ti = tarfile.TarInfo(m['name'])
        ti.mtime = 1577836800
        ty = m.get('type', 'file')
        if ty == 'file':
            d = data(m); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
        else:
            ti.type = types[ty]
            if 'linkname' in m: ti.linkname = m['linkname']
            t.addfile(ti)
`,
    { file, members },
  );
  return file;
}

export function metadataText(name: string, version: string, extra = '', body = ''): string {
  return `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n${extra}${body ? `\n${body}` : ''}`;
}

/** A wheel as a build backend writes it: METADATA, WHEEL and RECORD in one dist-info directory. */
export function makeWheel(dir: string, filename: string, metadata: string, opts: { distInfo?: string; extra?: Member[] } = {}): string {
  const parts = filename.slice(0, -4).split('-');
  const distInfo = opts.distInfo ?? `${parts[0]}-${parts[1]}.dist-info`;
  const pkg = parts[0]!.toLowerCase();
  return makeZip(path.join(dir, filename), [
    { name: `${pkg}/__init__.py`, text: `VERSION = ${JSON.stringify(parts[1])}\n` },
    { name: `${distInfo}/METADATA`, text: metadata },
    { name: `${distInfo}/WHEEL`, text: 'Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n' },
    { name: `${distInfo}/RECORD`, text: '' },
    ...(opts.extra ?? []),
  ]);
}

/** `extra` members are named relative to the top directory. */
export function makeSdist(dir: string, filename: string, pkgInfo: string, extra: Member[] = []): string {
  const t = filename.replace(/\.(tar\.gz|zip)$/, '');
  const members: Member[] = [
    { name: `${t}`, type: 'dir' },
    { name: `${t}/PKG-INFO`, text: pkgInfo },
    { name: `${t}/setup.py`, text: 'from setuptools import setup\nsetup()\n' },
    ...extra.map((m) => ({ ...m, name: `${t}/${m.name}` })),
  ];
  const out = path.join(dir, filename);
  return filename.endsWith('.zip') ? makeZip(out, members.filter((m) => m.type !== 'dir')) : makeTarGz(out, members);
}

export function hashFile(file: string) {
  const data = fs.readFileSync(file);
  const h = (a: string) => crypto.createHash(a).update(data).digest('hex');
  return { sha256: h('sha256'), sha512: h('sha512'), sha1: h('sha1'), md5: h('md5') };
}

const noSigner: RepoSigner = {
  openpgp: () => Promise.reject(new Error('pypi never signs')),
  rsa: () => Promise.reject(new Error('pypi never signs')),
};

export function uploadInput(file: string, clientFilename = path.basename(file), params: Record<string, string> = {}): TestUpload {
  return {
    file: { localPath: file, clientFilename, size: fs.statSync(file).size, hashes: hashFile(file) },
    extraFiles: {},
    params,
    repo: { id: 1, provider: 'pypi', name: 'test', settings: {} },
    signer: noSigner,
  };
}
