/**
 * Mutation fuzzing of every package parser and of format detection: seeded truncations,
 * bit flips and overwritten runs of valid packages (built the way each format's own unit
 * tests build them). Every input must settle within PER_INPUT_MS, either parsing or
 * rejecting with a 4xx DomainError (InvalidPackageError, BadRequestError); anything else
 * (a hang, a TypeError, a RangeError, an uncaught stream error) fails the test and names
 * the seed and mutation that caused it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { detectProvider } from '../../../src/core/package-service';
import type { UploadedFile, UploadInput } from '../../../src/core/provider';
import { aptProvider } from '../../../providers/apt';
import { apkProvider } from '../../../providers/apk';
import { readPackage } from '../../../providers/pacman/parse';
import { detectPacman } from '../../../providers/pacman/detect';
import { pypiProvider } from '../../../providers/pypi';
import { rpmProvider } from '../../../providers/rpm';
import { isClientError, mutants, prng, withinTime } from '../../helpers/fuzz';
import { buildDeb, controlText, tmpDir } from '../apt/helpers';
import { buildApk, pkginfoFor } from '../apk/apk-builder';
import { compress, makeTar, PKGINFO_OK } from '../pacman/helpers';
import { makeSdist, makeWheel, metadataText } from '../pypi/helpers';
import { gpgKey, haveRpmTools, rpmbuild, rpmsign } from '../rpm/helpers';

/** Per-input bound: generous for a loaded 2-core machine; a real hang never settles at all. */
const PER_INPUT_MS = 5000;
const COUNT = Number(process.env.FUZZ_COUNT ?? 120);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const dir = tmpDir('fuzz-');

/** Incompressible-ish but seeded payload text, so every run fuzzes the same fixtures. */
function seededHex(n: number, seed: number): string {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))).toString('hex');
}

function uploaded(file: string, clientFilename: string, bytes: Buffer): UploadedFile {
  const h = (a: string) => crypto.createHash(a).update(bytes).digest('hex');
  return { localPath: file, clientFilename, size: bytes.length, hashes: { sha256: h('sha256'), sha512: h('sha512'), sha1: h('sha1'), md5: h('md5') } };
}

const input = (file: UploadedFile, params: Record<string, string> = {}): UploadInput => ({
  file,
  extraFiles: {},
  params,
  repo: { id: 1, provider: 'fuzz', name: 'fuzz', settings: {} },
});

interface Target {
  name: string;
  valid: Buffer;
  clientFilename: string;
  /** The parser and the detector both run on each mutant. */
  run: (file: UploadedFile) => Promise<unknown>;
}

async function fuzz(t: Target, seed: number): Promise<void> {
  const file = path.join(dir, `${t.name}-${seed}`);
  const failures: string[] = [];
  // The unmutated package must parse: otherwise every mutant "fails correctly" for nothing.
  fs.writeFileSync(file, t.valid);
  await t.run(uploaded(file, t.clientFilename, t.valid));
  for (const [i, m] of mutants(t.valid, COUNT, seed).entries()) {
    fs.writeFileSync(file, m.bytes);
    const f = uploaded(file, t.clientFilename, m.bytes);
    const what = `${t.name} seed ${seed} #${i} (${m.how})`;
    for (const [label, p] of [
      ['parse', () => t.run(f)],
      ['detect', () => detectProvider(f).catch((e: unknown) => (isClientError(e) ? undefined : Promise.reject(e)))],
    ] as const) {
      const r = await withinTime(p(), PER_INPUT_MS, `${what} ${label}`).catch((e: Error) => ({ ok: false as const, error: e, hung: true }));
      if (!r.ok && ('hung' in r || !isClientError(r.error))) failures.push(`${what} ${label}: ${(r.error as Error)?.stack ?? String(r.error)}`);
    }
    if (failures.length >= 5) break;
  }
  assert.deepEqual(failures, [], failures.join('\n\n'));
}

const debControl = controlText({ Package: 'fuzzed', Version: '1.0-1', Architecture: 'amd64', Maintainer: 'Fuzz <fuzz@example.org>', Description: 'fuzz target' });

for (const comp of ['zstd', 'xz', 'gzip'] as const) {
  test(`apt .deb (${comp} members): mutants settle with a 4xx`, async () => {
    const deb = fs.readFileSync(buildDeb(dir, debControl, comp, { 'usr/share/doc/fuzzed/README': 'fuzz '.repeat(200) }));
    await fuzz({ name: `deb-${comp}`, valid: deb, clientFilename: 'fuzzed_1.0-1_amd64.deb', run: (f) => aptProvider.parse(input(f)) }, SEED + 1);
  });
}

for (const comp of ['zstd', 'xz', 'gzip'] as const) {
  test(`pacman package (${comp}): mutants settle with a 4xx`, async () => {
    const tarball = await makeTar([
      { name: '.PKGINFO', data: PKGINFO_OK },
      { name: 'usr/' },
      { name: 'usr/share/' },
      { name: 'usr/share/handmade', data: seededHex(3000, SEED) },
      { name: 'usr/share/link', type: 'symlink', linkname: 'handmade' },
    ]);
    const pkg = compress(tarball, comp);
    await fuzz(
      { name: `pacman-${comp}`, valid: pkg, clientFilename: 'handmade-1.0-1-any.pkg.tar', run: async (f) => {
        await detectPacman(f);
        return readPackage(f.localPath, f.size);
      } },
      SEED + 2,
    );
  });
}

test('apk package: mutants settle with a 4xx', async () => {
  const apk = buildApk({
    pkginfo: pkginfoFor('fuzzed', '1.0-r0', 'x86_64'),
    files: [{ name: 'usr/', type: 'dir' }, { name: 'usr/share/', type: 'dir' }, { name: 'usr/share/fuzzed.txt', content: seededHex(2000, SEED) }],
  }).bytes;
  await fuzz({ name: 'apk', valid: apk, clientFilename: 'fuzzed-1.0-r0.apk', run: (f) => apkProvider.parse(input(f, { branch: 'main' })) }, SEED + 3);
});

test('wheel: mutants settle with a 4xx', async () => {
  const whl = fs.readFileSync(makeWheel(dir, 'fuzzed-1.0-py3-none-any.whl', metadataText('fuzzed', '1.0', 'Summary: fuzz\n')));
  await fuzz({ name: 'wheel', valid: whl, clientFilename: 'fuzzed-1.0-py3-none-any.whl', run: (f) => pypiProvider.parse(input(f)) }, SEED + 4);
});

test('sdist (.tar.gz): mutants settle with a 4xx', async () => {
  const sdist = fs.readFileSync(makeSdist(dir, 'fuzzed-1.0.tar.gz', metadataText('fuzzed', '1.0'), [{ name: 'fuzzed/__init__.py', text: 'x = 1\n'.repeat(100) }]));
  await fuzz({ name: 'sdist', valid: sdist, clientFilename: 'fuzzed-1.0.tar.gz', run: (f) => pypiProvider.parse(input(f)) }, SEED + 5);
});

// Real rpms from rpmbuild (lead, signature header, main header, compressed payload): one plain,
// one signed with rpmsign (an OpenPGP signature in the signature header).
for (const signed of [false, true]) {
  test(`rpm${signed ? ' (rpmsign-signed)' : ''}: mutants settle with a 4xx`, { skip: haveRpmTools ? false : 'rpmbuild is not installed' }, async () => {
    const d = fs.mkdtempSync(path.join(dir, 'rpm-'));
    const rpm = rpmbuild({ name: 'fuzzed', version: '1.0', arch: 'x86_64', preamble: ['Requires: fuzz-base >= 1.0'], files: { '/usr/share/fuzzed/data': seededHex(1500, SEED), '/usr/bin/fuzzed': '#!/bin/sh\n' } }, d).rpm;
    if (signed) rpmsign(rpm, gpgKey(d));
    await fuzz({ name: `rpm${signed ? '-signed' : ''}`, valid: fs.readFileSync(rpm), clientFilename: 'fuzzed-1.0-1.x86_64.rpm', run: (f) => rpmProvider.parse(input(f, { group: '' })) }, SEED + (signed ? 7 : 6));
  });
}
