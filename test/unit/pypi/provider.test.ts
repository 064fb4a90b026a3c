import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pypiProvider } from '../../../providers/pypi/index';
import { makeTarGz, makeWheel, makeZip, metadataText, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();
const detect = (file: string, name = path.basename(file)) => pypiProvider.detect!(uploadInput(file, name).file);

test('contract constants', () => {
  assert.equal(pypiProvider.name, 'pypi');
  assert.equal(pypiProvider.title, 'PyPI (pip, uv, twine)');
  assert.equal(pypiProvider.selfDescribing, true);
  assert.equal(pypiProvider.normalizeName!('Zope.Interface'), 'zope-interface');
  assert.equal(pypiProvider.normalizeName!('zope_interface'), 'zope-interface');
  assert.equal(pypiProvider.normalizeName!('Acme__Core.-x'), 'acme-core-x');
  assert.notEqual(pypiProvider.normalizeName!('foo'), pypiProvider.normalizeName!('foobar'));
  assert.ok(pypiProvider.compareVersions('1.0rc1', '1.0') < 0);
  assert.ok(pypiProvider.compareVersions('1.10', '1.9') > 0);
});

test('detect: by the bytes, with the file name as a hint', async () => {
  const whl = makeWheel(dir, 'demo-1.0-py3-none-any.whl', metadataText('demo', '1.0'));
  assert.equal(await detect(whl), true);
  assert.equal(await detect(whl, ''), true, 'no name: bytes decide');
  assert.equal(await detect(whl, 'demo.jar'), false, 'a zip named otherwise is not claimed');
  const sdist = makeTarGz(path.join(dir, 'demo-1.0.tar.gz'), [{ name: 'demo-1.0/PKG-INFO', text: metadataText('demo', '1.0') }]);
  assert.equal(await detect(sdist), true);
  assert.equal(await detect(sdist, 'demo.pkg.tar.gz'), false, 'sdists need an sdist-looking name');
  // a tarball or an Arch package is gzip tar too, but has no <top>/PKG-INFO
  const tarball = makeTarGz(path.join(dir, 'site-1.0.tar.gz'), [{ name: 'site-1.0/index.html', text: 'x' }]);
  assert.equal(await detect(tarball), false);
  const pkg = makeTarGz(path.join(dir, 'foo-1.0-1-any.pkg.tar.gz'), [{ name: '.PKGINFO', text: 'pkgname = foo\n' }]);
  assert.equal(await detect(pkg), false);
  const zipSdist = makeZip(path.join(dir, 'demo-1.1.zip'), [{ name: 'demo-1.1/PKG-INFO', text: metadataText('demo', '1.1') }]);
  assert.equal(await detect(zipSdist), true);
  const plainZip = makeZip(path.join(dir, 'docs-1.0.zip'), [{ name: 'docs-1.0/index.html', text: 'x' }]);
  assert.equal(await detect(plainZip), false);
  const text = path.join(dir, 'x-1.0.tar.gz');
  fs.writeFileSync(text, 'hello');
  assert.equal(await detect(text), false);
});

test('setup snippets', async () => {
  const snippets = await pypiProvider.setup({
    repo: { id: 1, provider: 'pypi', name: 'main', settings: {} },
    repoUrl: 'http://pkgs.example:8080/repo/pypi/main',
    baseUrl: 'http://pkgs.example:8080',
    signer: { openpgp: () => Promise.reject(new Error('no')), rsa: () => Promise.reject(new Error('no')) },
    partitions: ['demo-pkg'],
  });
  const all = snippets.map((s) => s.code).join('\n');
  assert.match(all, /pip install --index-url http:\/\/pkgs\.example:8080\/repo\/pypi\/main\/simple\/ --trusted-host pkgs\.example demo-pkg/);
  assert.match(all, /\[global\]\nindex-url = http:\/\/pkgs\.example:8080\/repo\/pypi\/main\/simple\/\ntrusted-host = pkgs\.example/);
  assert.match(all, /\[\[tool\.uv\.index\]\]\nname = "main"\nurl = "http:\/\/pkgs\.example:8080\/repo\/pypi\/main\/simple\/"/);
  assert.match(all, /uv pip install --index-url \S+ --allow-insecure-host pkgs\.example demo-pkg/);
  assert.match(all, /twine upload --repository-url http:\/\/pkgs\.example:8080\/repo\/pypi\/main\/legacy\/ -u __token__ -p <TOKEN> dist\/\*/);
  const https = await pypiProvider.setup({
    repo: { id: 1, provider: 'pypi', name: 'main', settings: {} }, repoUrl: 'https://pkgs.example/repo/pypi/main', baseUrl: 'https://pkgs.example',
    signer: { openpgp: () => Promise.reject(new Error('no')), rsa: () => Promise.reject(new Error('no')) }, partitions: [],
  });
  assert.doesNotMatch(https.map((s) => s.code).join('\n'), /trusted-host|insecure/);
});
