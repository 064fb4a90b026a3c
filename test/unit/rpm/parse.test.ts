/**
 * The rpm reader on packages built here by rpmbuild (binary x86_64 with an epoch and a
 * dependency, noarch, source, one signed with rpmsign) and on mutated copies: every mutation is
 * refused with a message that says what is wrong (docs/formats/rpm.md#package-file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidPackageError } from '../../../src/core/errors';
import type { UploadedFile } from '../../../src/core/provider';
import { createRpmProvider, rpmProvider } from '../../../providers/rpm';
import { readMetadata, type RpmIndexData } from '../../../providers/rpm/metadata';
import { readLayout, verifyDigests } from '../../../providers/rpm/parse';
import { TAG } from '../../../providers/rpm/tags';
import { gpgKey, haveRpmTools, rpmbuild, rpmsign, tmpDir } from './helpers';

const skip = !haveRpmTools && 'rpmbuild is not installed';
let T: string;
const files: Record<string, string> = {};

before(() => {
  if (skip) return;
  T = tmpDir('rpm-parse-');
  const tool = rpmbuild(
    {
      name: 'hello-tool',
      version: '2.1',
      release: '3.el9',
      epoch: 4,
      arch: 'x86_64',
      preamble: ['Requires: hello-data >= 1.0', 'Recommends: hello-doc', 'Provides: hello = 2.1', 'Conflicts: hello-old < 1.0', 'Obsoletes: hello-legacy <= 2.0'],
      files: { '/usr/bin/hello-tool': '#!/bin/sh\necho hello\n', '/usr/share/hello-tool/a file ü.txt': 'unicode\n', '/etc/hello-tool.conf': 'x=1\n' },
      dirs: ['/usr/share/hello-tool/empty dir'],
      changelog: [
        { date: 'Tue Jan 07 2025', author: 'B <b@example.org> - 4:2.1-3', text: '- second' },
        { date: 'Mon Jan 06 2025', author: 'A <a@example.org> - 4:2.1-1', text: '- first' },
      ],
      source: true,
    },
    T,
  );
  files.tool = tool.rpm;
  files.srpm = tool.srpm!;
  files.data = rpmbuild({ name: 'hello-data', version: '1.0', arch: 'noarch' }, T).rpm;
  files.signed = path.join(T, 'signed.rpm');
  fs.copyFileSync(files.data, files.signed);
  rpmsign(files.signed, gpgKey(T));
});

after(() => {
  if (T) fs.rmSync(T, { recursive: true, force: true });
});

async function parseFile(file: string): Promise<RpmIndexData> {
  const size = fs.statSync(file).size;
  const layout = await readLayout(file, size);
  const data = readMetadata(layout);
  await verifyDigests(file, size, layout);
  return data;
}

function uploaded(file: string): UploadedFile {
  const data = fs.readFileSync(file);
  const h = (a: string) => crypto.createHash(a).update(data).digest('hex');
  return { localPath: file, clientFilename: path.basename(file), size: data.length, hashes: { sha256: h('sha256'), sha512: h('sha512'), sha1: h('sha1'), md5: h('md5') } };
}

/** A mutated copy of `file`. */
function mutate(file: string, name: string, edit: (b: Buffer) => Buffer): string {
  const out = path.join(T, `${name}.rpm`);
  fs.writeFileSync(out, edit(Buffer.from(fs.readFileSync(file))));
  return out;
}

async function rejects(file: string, message: RegExp): Promise<void> {
  await assert.rejects(parseFile(file), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
}

/** Offset of the main header, and the file offset of a tag's index entry in it. */
async function mainHeaderEntry(file: string, tag: number): Promise<{ headerStart: number; entryAt: number; dataStart: number }> {
  const b = fs.readFileSync(file);
  const { headerStart } = await readLayout(file, b.length);
  const n = b.readUInt32BE(headerStart + 8);
  for (let i = 0; i < n; i++) {
    const at = headerStart + 16 + 16 * i;
    if (b.readUInt32BE(at) === tag) return { headerStart, entryAt: at, dataStart: headerStart + 16 + 16 * n };
  }
  throw new Error(`tag ${tag} not in ${file}`);
}

test('a binary rpm: identity, texts, sizes, dependencies, files with types, changelog', { skip }, async () => {
  const d = await parseFile(files.tool);
  assert.equal(d.name, 'hello-tool');
  assert.equal(d.epoch, 4);
  assert.equal(d.version, '2.1');
  assert.equal(d.release, '3.el9');
  assert.equal(d.arch, 'x86_64');
  assert.equal(d.summary, 'The hello-tool test package');
  assert.match(d.description, /two lines & some <markup>/);
  assert.equal(d.license, 'MIT');
  assert.equal(d.vendor, 'artifactd tests');
  assert.equal(d.group, 'Development/Tools');
  assert.equal(d.url, 'https://example.org/hello-tool');
  assert.equal(d.packager, 'Test Packager <test@example.org>');
  assert.equal(d.sourceRpm, 'hello-tool-2.1-3.el9.src.rpm');
  assert.ok(d.buildTime > 1_600_000_000);
  const rpmQ = (fmt: string) => execFileSync('rpm', ['-qp', '--qf', fmt, files.tool], { encoding: 'utf8' });
  assert.equal(d.installedSize, Number(rpmQ('%{SIZE}')));
  assert.equal(d.buildTime, Number(rpmQ('%{BUILDTIME}')));
  assert.deepEqual(d.deps.requires.find((r) => r.name === 'hello-data'), { name: 'hello-data', flags: 12, version: '1.0' });
  assert.deepEqual(d.deps.recommends, [{ name: 'hello-doc', flags: 0, version: '' }]);
  assert.deepEqual(d.deps.conflicts, [{ name: 'hello-old', flags: 2, version: '1.0' }]);
  assert.deepEqual(d.deps.obsoletes, [{ name: 'hello-legacy', flags: 10, version: '2.0' }]);
  assert.ok(d.deps.provides.some((p) => p.name === 'hello-tool' && p.version === '4:2.1-3.el9'));
  assert.deepEqual(
    d.files.map((f) => `${f.type} ${f.path}`).sort(),
    ['dir /usr/share/hello-tool/empty dir', 'file /etc/hello-tool.conf', 'file /usr/bin/hello-tool', 'file /usr/share/hello-tool/a file ü.txt'],
  );
  // rpm's own view of the file list, byte for byte.
  assert.deepEqual(d.files.map((f) => f.path).sort(), rpmQ('[%{FILENAMES}\n]').trim().split('\n').sort());
  assert.deepEqual(d.changelog.map((c) => c.text), ['- second', '- first']);
  assert.ok(d.headerStart > 96 && d.headerStart % 8 === 0 && d.headerEnd > d.headerStart);
});

test('a source rpm is arch src with no sourcerpm', { skip }, async () => {
  const d = await parseFile(files.srpm);
  assert.equal(d.arch, 'src');
  assert.equal(d.sourceRpm, '');
  assert.ok(d.files.some((f) => f.path === 'hello-tool-2.1.spec'));
  const p = await rpmProvider.parse({ file: uploaded(files.srpm), extraFiles: {}, params: {}, repo: { id: 1, provider: 'rpm', name: 'r', settings: {} } });
  assert.equal(p.filename, 'hello-tool-2.1-3.el9.src.rpm');
  assert.equal(p.path, 'Packages/h/hello-tool-2.1-3.el9.src.rpm');
  assert.equal(p.version, '4:2.1-3.el9');
});

test('a packager-signed rpm parses, and the provider returns its path and group without touching the file', { skip }, async () => {
  const before = fs.readFileSync(files.signed);
  const p = await rpmProvider.parse({ file: uploaded(files.signed), extraFiles: {}, params: { group: 'el9' }, repo: { id: 1, provider: 'rpm', name: 'r', settings: {} } });
  assert.equal(p.name, 'hello-data');
  assert.equal(p.arch, 'noarch');
  assert.equal(p.path, 'el9/Packages/h/hello-data-1.0-1.noarch.rpm');
  assert.equal(p.partition, 'el9');
  assert.deepEqual(fs.readFileSync(files.signed), before);
  assert.notDeepEqual(fs.readFileSync(files.signed), fs.readFileSync(files.data), 'rpmsign changed the bytes');
});

test('detect: rpm bytes yes, others no', { skip }, async () => {
  assert.equal(await rpmProvider.detect!(uploaded(files.tool)), true);
  assert.equal(await rpmProvider.detect!(uploaded(mutate(files.tool, 'not-rpm', (b) => Buffer.concat([Buffer.from('!<arch>\n'), b])))), false);
  assert.equal(await rpmProvider.detect!(uploaded(mutate(files.tool, 'lead-only', (b) => b.subarray(0, 96)))), false);
});

test('not an rpm, truncated lead, truncated header, truncated payload, trailing bytes', { skip }, async () => {
  await rejects(mutate(files.tool, 'garbage', (b) => Buffer.concat([Buffer.from('hello'), b])), /lead magic ed ab ee db/);
  await rejects(mutate(files.tool, 'short-lead', (b) => b.subarray(0, 50)), /truncated: the lead/);
  const { headerStart } = await mainHeaderEntry(files.tool, TAG.NAME);
  await rejects(mutate(files.tool, 'short-header', (b) => b.subarray(0, headerStart + 100)), /truncated: the main header needs/);
  await rejects(mutate(files.tool, 'short-payload', (b) => b.subarray(0, b.length - 10)), /truncated or has trailing bytes/);
  await rejects(mutate(files.tool, 'trailing', (b) => Buffer.concat([b, Buffer.from('x')])), /truncated or has trailing bytes/);
});

test('absurd entry counts and data sizes are refused before anything is allocated', { skip }, async () => {
  await rejects(mutate(files.tool, 'sig-count', (b) => (b.writeUInt32BE(0xffffffff, 96 + 8), b)), /signature header claims 4294967295 entries; at most 64/);
  const { headerStart } = await mainHeaderEntry(files.tool, TAG.NAME);
  await rejects(mutate(files.tool, 'main-count', (b) => (b.writeUInt32BE(70000, headerStart + 8), b)), /main header claims 70000 entries; at most 65535/);
  await rejects(mutate(files.tool, 'main-size', (b) => (b.writeUInt32BE(0x7fffffff, headerStart + 12), b)), /main header claims 2147483647 bytes of data/);
  await rejects(mutate(files.tool, 'bad-magic', (b) => (b.writeUInt32BE(0x12345678, headerStart), b)), /main header does not start with the header magic/);
});

test('entries pointing outside the header, past its data, or of the wrong type', { skip }, async () => {
  const name = await mainHeaderEntry(files.tool, TAG.NAME);
  await rejects(mutate(files.tool, 'offset', (b) => (b.writeUInt32BE(0x00ffffff, name.entryAt + 8), b)), /tag 1000\) points at offset 16777215/);
  const modes = await mainHeaderEntry(files.tool, TAG.FILEMODES);
  await rejects(mutate(files.tool, 'count', (b) => (b.writeUInt32BE(0x00ffffff, modes.entryAt + 12), b)), /tag 1030\) claims 16777215 values of 2 bytes/);
  await rejects(mutate(files.tool, 'type', (b) => (b.writeUInt32BE(4, name.entryAt + 4), b)), /tag 1000 has type 4, a string was expected/);
  await rejects(mutate(files.tool, 'type-unknown', (b) => (b.writeUInt32BE(42, name.entryAt + 4), b)), /has unknown type 42/);
});

test('path traversal in a file name is refused', { skip }, async () => {
  const dirs = await mainHeaderEntry(files.tool, TAG.DIRNAMES);
  const out = mutate(files.tool, 'traversal', (b) => {
    const at = b.indexOf('/usr/share/hello-tool/', dirs.dataStart);
    b.write('/usr/share/../../tmp/', at, 'latin1'); // same length as /usr/share/hello-tool/
    return b;
  });
  await rejects(out, /has a "\.", "\.\." or empty path segment/);
});

test('changed header bytes and changed payload bytes fail their digests', { skip }, async () => {
  const summary = await mainHeaderEntry(files.tool, TAG.SUMMARY);
  await rejects(
    mutate(files.tool, 'header-edit', (b) => {
      const at = b.indexOf('The hello-tool test package', summary.dataStart);
      b.write('T', at + 1, 'latin1');
      return b;
    }),
    /header SHA-256 digest mismatch/,
  );
  await rejects(mutate(files.tool, 'payload-edit', (b) => ((b[b.length - 20] ^= 0xff), b)), /payload digest mismatch/);
});

test('caps on files and dependencies come from the provider options', { skip }, async () => {
  const small = createRpmProvider({ metadata: { maxFiles: 2, maxDeps: 100, maxChangelogs: 1 } });
  await assert.rejects(small.parse({ file: uploaded(files.tool), extraFiles: {}, params: {}, repo: { id: 1, provider: 'rpm', name: 'r', settings: {} } }), /lists 4 files; at most 2/);
  const few = createRpmProvider({ metadata: { maxChangelogs: 1 } });
  const p = await few.parse({ file: uploaded(files.tool), extraFiles: {}, params: {}, repo: { id: 1, provider: 'rpm', name: 'r', settings: {} } });
  assert.deepEqual((p.indexData as RpmIndexData).changelog.map((c) => c.text), ['- second']);
});

test('bad group names are refused', { skip }, async () => {
  for (const group of ['repodata', '../x', 'a/b', 'x.repo', '.hidden']) {
    await assert.rejects(rpmProvider.parse({ file: uploaded(files.data), extraFiles: {}, params: { group }, repo: { id: 1, provider: 'rpm', name: 'r', settings: {} } }), /group must be/);
  }
});
