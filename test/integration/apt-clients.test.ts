/**
 * Issue 4 end to end with the real apt-get/apt-cache over HTTP against the real server:
 * isolated Dir::* state (apt-tools.ts), date checks forced on, the key downloaded from
 * /repo/apt/<repo>/keyring.gpg as signed-by, no trusted=yes. Covers Debian version order,
 * downloads (real Debian packages included), Architecture: all on amd64 and arm64, two
 * dists and two components, the seed's upload call, the install script in a mount
 * namespace, Packages stanzas against dpkg-scanpackages, sqv, private repositories with a
 * read token, and an imported key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, auth, getJson } from '../helpers/http';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { aptClient, bytes, fetchDebianPackages, field, paragraphs, runCommand, WARN_OR_ERROR, type AptClient, type RunResult } from './apt-tools';

let srv: TestServer;
const work = tmpDir('apt-int-');
fs.chmodSync(work, 0o755);

const repoUrl = (repo: string) => `${srv.url}/repo/apt/${repo}`;

function deb(fields: Record<string, string>, compression: 'xz' | 'gzip' | 'zstd' | 'none' = 'xz'): string {
  return buildDeb(work, controlText({ Maintainer: 'Test <test@example.org>', Description: `${fields.Package} test package`, ...fields }), compression);
}

async function up(file: string, repo: string, params: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const r = await upload(srv.url, file, { reponame: repo, ...params });
  assert.equal(r.status, 201, `upload ${path.basename(file)}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function clientFor(repo: string, lines: string[], arch = 'amd64'): Promise<AptClient> {
  const keyring = await bytes(`${repoUrl(repo)}/keyring.gpg`);
  return aptClient({ arch, keyring, sources: lines.map((l) => `deb [signed-by=KEYRING] ${repoUrl(repo)} ${l}\n`).join('') });
}

function clean(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.out}`);
  assert.doesNotMatch(r.out, WARN_OR_ERROR, `${what} printed a warning or error:\n${r.out}`);
}

const sha256 = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

test('apt-get update is clean and apt-cache policy picks the newest by Debian order (epochs, ~)', async () => {
  const files: Record<string, string> = {};
  for (const v of ['1.0-1', '1:0.5-1', '2.0~rc1-1', '2.0-1']) files[`hello ${v}`] = deb({ Package: 'hello', Version: v, Architecture: 'amd64' });
  for (const v of ['1.9-1', '2.0~rc1-1', '2.0-1', '2.0-1~bpo1']) files[`tool ${v}`] = deb({ Package: 'tool', Version: v, Architecture: 'amd64' });
  for (const v of ['2.0~beta1', '2.0~rc1', '2.0~~']) files[`tilde ${v}`] = deb({ Package: 'tilde', Version: v, Architecture: 'all' });
  for (const f of Object.values(files)) await up(f, 'acme');

  const c = await clientFor('acme', ['stable main']);
  const u = await c.update();
  clean(u, 'apt-get update');
  assert.match(u.out, /stable InRelease/);
  assert.equal(await c.candidate('hello'), '1:0.5-1');
  assert.equal(await c.candidate('tool'), '2.0-1');
  assert.equal(await c.candidate('tilde'), '2.0~rc1');
  // apt's own ordering of everything it read from the server, newest first.
  assert.deepEqual(await c.versions('hello'), ['1:0.5-1', '2.0-1', '2.0~rc1-1', '1.0-1']);
  assert.deepEqual(await c.versions('tool'), ['2.0-1', '2.0-1~bpo1', '2.0~rc1-1', '1.9-1']);
  assert.deepEqual(await c.versions('tilde'), ['2.0~rc1', '2.0~beta1', '2.0~~']);

  // apt-get download checks Size and SHA256 from Packages; the bytes are the uploaded ones.
  const d = await c.run('apt-get', ['download', 'hello', 'tool', 'tilde=2.0~beta1'], c.dlDir);
  clean(d, 'apt-get download');
  assert.deepEqual(fs.readdirSync(c.dlDir).sort(), ['hello_1%3a0.5-1_amd64.deb', 'tilde_2.0~beta1_all.deb', 'tool_2.0-1_amd64.deb']);
  assert.equal(sha256(path.join(c.dlDir, 'hello_1%3a0.5-1_amd64.deb')), sha256(files['hello 1:0.5-1']));
  assert.equal(sha256(path.join(c.dlDir, 'tilde_2.0~beta1_all.deb')), sha256(files['tilde 2.0~beta1']));

  // A package published right after an update is seen by the next update, even within
  // the same second (apt revalidates with If-Modified-Since only).
  for (const v of ['3.0-1', '3.1-1', '3.2-1']) {
    await up(deb({ Package: 'tool', Version: v, Architecture: 'amd64' }), 'acme');
    clean(await c.update(), 'apt-get update after an upload');
    assert.equal(await c.candidate('tool'), v);
  }
});

test('two dists and two components coexist; Architecture: all is installable on amd64 and arm64', async () => {
  await up(deb({ Package: 'alpha', Version: '1.0', Architecture: 'amd64' }), 'multi', { dist: 'stable', component: 'main' });
  await up(deb({ Package: 'alpha', Version: '2.0', Architecture: 'amd64' }), 'multi', { dist: 'bookworm', component: 'main' });
  await up(deb({ Package: 'common', Version: '1.0', Architecture: 'all', Depends: 'common-data' }), 'multi', { dist: 'stable', component: 'contrib' });
  await up(deb({ Package: 'common-data', Version: '1.0', Architecture: 'all' }), 'multi', { dist: 'stable', component: 'main' });
  await up(deb({ Package: 'armtool', Version: '0.1', Architecture: 'arm64' }), 'multi', { dist: 'stable', component: 'main' });
  await up(deb({ Package: 'gamma', Version: '3.0', Architecture: 'amd64' }), 'multi', { dist: 'bookworm', component: 'non-free' });

  const release = (await bytes(`${repoUrl('multi')}/dists/stable/Release`)).toString();
  assert.match(release, /^Components: contrib main$/m);
  assert.match(release, /^Architectures: amd64 arm64$/m);
  assert.match((await bytes(`${repoUrl('multi')}/dists/bookworm/Release`)).toString(), /^Components: main non-free$/m);

  const lines = ['stable main contrib', 'bookworm main non-free'];
  const amd = await clientFor('multi', lines, 'amd64');
  clean(await amd.update(), 'apt-get update (amd64)');
  const madison = (await amd.run('apt-cache', ['madison', 'alpha'])).out;
  assert.match(madison, /alpha \| +2\.0 \| .* bookworm\/main amd64 Packages/);
  assert.match(madison, /alpha \| +1\.0 \| .* stable\/main amd64 Packages/);
  assert.equal(await amd.candidate('alpha'), '2.0');
  assert.equal(await amd.candidate('gamma'), '3.0');
  assert.equal(await amd.candidate('armtool'), null);
  // Installable: the resolver pulls the all-arch dependency from the other component.
  let r = await amd.run('apt-get', ['install', '-s', '-y', 'common']);
  clean(r, 'apt-get install -s common (amd64)');
  assert.match(r.out, /^Inst common-data \(1\.0 .*\[all\]\)$/m);
  assert.match(r.out, /^Inst common \(1\.0 .*\[all\]\)$/m);

  const arm = await clientFor('multi', lines, 'arm64');
  clean(await arm.update(), 'apt-get update (arm64)');
  assert.equal(await arm.candidate('common'), '1.0');
  assert.equal(await arm.candidate('armtool'), '0.1');
  assert.equal(await arm.candidate('alpha'), null);
  r = await arm.run('apt-get', ['install', '-s', '-y', 'common', 'armtool']);
  clean(r, 'apt-get install -s (arm64)');
  assert.match(r.out, /^Inst armtool \(0\.1 .*\[arm64\]\)$/m);
  assert.match(r.out, /^Inst common \(1\.0 .*\[all\]\)$/m);
  r = await arm.run('apt-get', ['download', 'common', 'armtool', 'common-data'], arm.dlDir);
  clean(r, 'apt-get download (arm64)');
  assert.deepEqual(fs.readdirSync(arm.dlDir).sort(), ['armtool_0.1_arm64.deb', 'common-data_1.0_all.deb', 'common_1.0_all.deb']);
});

test('real Debian packages from the host\'s apt source: uploaded, then downloaded again by the isolated apt', async (t) => {
  const names = ['hello', 'cowsay', 'fortune-mod'];
  const { files, why } = await fetchDebianPackages(path.join(work, 'debian'), names);
  if (why) {
    t.skip(why);
    return;
  }
  assert.equal(files.size, names.length);
  const bodies = [];
  for (const f of files.values()) bodies.push(await up(f, 'acme', { dist: 'bookworm' }));
  // fortune-mod has an epoch, cowsay is Architecture: all.
  assert.ok(bodies.some((b) => /^1:/.test(String(b.version))), JSON.stringify(bodies.map((b) => b.version)));
  const c = await clientFor('acme', ['bookworm main']);
  clean(await c.update(), 'apt-get update');
  for (const n of names) assert.ok(await c.candidate(n), `${n} has a candidate`);
  const d = await c.run('apt-get', ['download', ...names], c.dlDir);
  clean(d, 'apt-get download');
  const got = fs.readdirSync(c.dlDir);
  for (const [n, f] of files) {
    // apt's local name escapes the epoch colon like the host's own download did.
    const mine = got.find((g) => g.startsWith(`${n}_`));
    assert.equal(mine, path.basename(f));
    assert.equal(sha256(path.join(c.dlDir, mine!)), sha256(f), `${n}: same bytes as Debian's`);
  }
});

test("the seed's upload call (curl, name/version/dist in the query); a mismatching name or version is 400", async () => {
  const built = deb({ Package: 'python3', Version: '3.6.7-1~18.04', Architecture: 'amd64', Depends: 'python3.6 (>= 3.6.7-1~)' });
  const file = path.join(work, 'python3_3.6.7-1~18.04_amd64.deb');
  fs.copyFileSync(built, file);
  const curl = (query: string) =>
    runCommand('curl', ['-sS', '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, '-F', `f=@${file}`, '-w', '\n%{http_code}', `${srv.url}/addpkg?${query}`], { cwd: work });
  let r = await curl('provider=apt&reponame=reponame&name=python3&version=3.6.7-1~18.04&dist=bionic');
  let [body, status] = r.out.split(/\n(?=\d+$)/);
  assert.equal(status, '201', r.out);
  const view = JSON.parse(body);
  assert.equal(view.path, 'pool/main/p/python3/python3_3.6.7-1~18.04_amd64.deb');
  assert.equal(view.url, `${repoUrl('reponame')}/pool/main/p/python3/python3_3.6.7-1~18.04_amd64.deb`);

  r = await curl('provider=apt&reponame=reponame&name=python2&version=3.6.7-1~18.04&dist=bionic');
  [body, status] = r.out.split(/\n(?=\d+$)/);
  assert.equal(status, '400', r.out);
  assert.match(JSON.parse(body).error, /python2/);
  assert.match(JSON.parse(body).error, /python3/);
  r = await curl('provider=apt&reponame=reponame&name=python3&version=3.6.8-1&dist=bionic');
  [body, status] = r.out.split(/\n(?=\d+$)/);
  assert.equal(status, '400', r.out);
  assert.match(JSON.parse(body).error, /3\.6\.8-1/);

  const c = await clientFor('reponame', ['bionic main']);
  clean(await c.update(), 'apt-get update');
  assert.equal(await c.candidate('python3'), '3.6.7-1~18.04');
  clean(await c.run('apt-get', ['download', 'python3'], c.dlDir), 'apt-get download');
  assert.deepEqual(fs.readdirSync(c.dlDir), ['python3_3.6.7-1~18.04_amd64.deb']);
  assert.equal(sha256(path.join(c.dlDir, 'python3_3.6.7-1~18.04_amd64.deb')), sha256(file));
  const pk = await getJson(`${srv.url}/api/repos/apt/reponame/packages/python3`);
  assert.equal(pk.body.total, 1, 'the refused uploads stored nothing');
});

/**
 * The installer, run for real as root in a private mount namespace where /etc/apt,
 * /var/lib/apt and /var/cache/apt are empty temporary directories (the host's apt is
 * untouched). Date checks are forced on in the sandbox's apt.conf.d.
 */
async function inSandbox(script: string, env: Record<string, string> = {}): Promise<{ r: RunResult; root: string }> {
  const root = tmpDir('apt-sandbox-');
  for (const d of ['etc/apt/apt.conf.d', 'etc/apt/sources.list.d', 'etc/apt/preferences.d', 'etc/apt/trusted.gpg.d', 'lib/apt/lists/partial', 'cache/apt/archives/partial']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.writeFileSync(path.join(root, 'etc/apt/apt.conf.d/00test'), 'Acquire::Check-Date "true";\nAcquire::Check-Valid-Until "true";\nAcquire::Retries "0";\nAcquire::http::Proxy "DIRECT";\n');
  await runCommand('chmod', ['-R', 'a+rX', root]);
  const inner = [
    'set -e',
    `mount --bind ${root}/etc/apt /etc/apt`,
    `mount --bind ${root}/lib/apt /var/lib/apt`,
    `mount --bind ${root}/cache/apt /var/cache/apt`,
    script,
  ].join('\n');
  const r = await runCommand('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', inner], {
    env: { ...process.env, LC_ALL: 'C.UTF-8', no_proxy: '127.0.0.1', http_proxy: '', ...env },
  });
  return { r, root };
}

test('the install script (wget -qO- .../dists/<dist>/install | bash) sets up a working client', async (t) => {
  const probe = await runCommand('unshare', ['--mount', 'true']);
  if (probe.code !== 0) {
    t.skip(`no mount namespaces here (${probe.out.trim()}): cannot run the installer without touching /etc/apt`);
    return;
  }
  const url = `${repoUrl('acme')}/dists/stable/install`;
  const script = await (await fetch(url)).text();
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.equal((await runCommand('sh', ['-n'], { input: script })).code, 0);

  const { r, root } = await inSandbox(`wget -qO- '${url}' | bash\napt-cache policy hello tool`);
  clean(r, 'install script + apt-cache policy');
  assert.match(r.out, /^hello:\n {2}Installed: \(none\)\n {2}Candidate: 1:0\.5-1$/m);
  assert.match(r.out, /^tool:\n {2}Installed: \(none\)\n {2}Candidate: 3\.2-1$/m);
  assert.ok(fs.readFileSync(path.join(root, 'etc/apt/keyrings/acme.gpg')).equals(await bytes(`${repoUrl('acme')}/keyring.gpg`)));
  assert.equal((fs.statSync(path.join(root, 'etc/apt/keyrings/acme.gpg')).mode & 0o777).toString(8), '644');
  assert.equal(
    fs.readFileSync(path.join(root, 'etc/apt/sources.list.d/acme.sources'), 'utf8'),
    `Types: deb\nURIs: ${repoUrl('acme')}\nSuites: stable\nComponents: main\nSigned-By: /etc/apt/keyrings/acme.gpg\n`,
  );
  assert.equal(fs.existsSync(path.join(root, 'etc/apt/auth.conf.d/acme.conf')), false, 'no credentials for a public repository');
  // Not as root: refuses before touching anything.
  const nobody = await runCommand('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'sh', '-s'], { input: script });
  assert.equal(nobody.code, 1);
  assert.match(nobody.out, /must run as root/);
});

test('Packages stanzas have the fields and values dpkg-scanpackages writes for the same files', async () => {
  const dir = path.join(work, 'scan');
  fs.mkdirSync(dir);
  const rich = buildDeb(
    work,
    [
      'Package: rich-pkg',
      'Source: rich (1.2-0)',
      'Version: 1:1.2-3',
      'Architecture: amd64',
      'Maintainer: Jane Doe <jane@example.org>',
      'Installed-Size: 42',
      'pre-depends: dpkg (>= 1.19)',
      'Depends: libc6 (>= 2.36), foo | bar,',
      ' baz (>= 1:2~)',
      'Recommends: qux',
      'Multi-Arch: foreign',
      'Section: utils',
      'Priority: optional',
      'Homepage: https://example.org/rich',
      'X-Custom-Field: kept as is   ',
      'Description: a rich package',
      ' First paragraph of the long description.',
      ' .',
      '  An indented line, kept verbatim.',
      '',
    ].join('\n'),
    'gzip',
  );
  const plain = deb({ Package: 'plain', Version: '0.1', Architecture: 'all' }, 'zstd');
  const files = [rich, plain];
  // The real Debian packages, when the previous test could fetch them.
  const debian = path.join(work, 'debian');
  if (fs.existsSync(debian)) files.push(...fs.readdirSync(debian).filter((f) => f.endsWith('.deb')).map((f) => path.join(debian, f)));
  for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  await up(rich, 'scan');
  await up(plain, 'scan');
  for (const f of files.slice(2)) await up(f, 'scan');

  const scan = await runCommand('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: dir });
  assert.equal(scan.code, 0, scan.out);
  const expected = paragraphs(scan.out.replace(/^dpkg-scanpackages: .*$/gm, ''));
  assert.equal(expected.length, files.length, scan.out);
  const served = paragraphs((await bytes(`${repoUrl('scan')}/dists/stable/main/binary-amd64/Packages`)).toString());
  for (const want of expected) {
    const key = (st: [string, string][]) => `${field(st, 'Package')} ${field(st, 'Version')} ${field(st, 'Architecture')}`;
    const got = served.find((st) => key(st) === key(want));
    assert.ok(got, `${key(want)} is in Packages`);
    const dpkgHasSha512 = want.some(([n]) => n === 'SHA512');
    const ours = got!.filter(([n]) => dpkgHasSha512 || n !== 'SHA512');
    // Same field names in the same order, same values; only Filename differs (pool path vs ./file).
    assert.deepEqual(ours.map(([n]) => n), want.map(([n]) => n), key(want));
    for (const [n, v] of want) {
      if (n === 'Filename') {
        const file = `${field(want, 'Package')}_${field(want, 'Version')!.replace(/^\d+:/, '')}_${field(want, 'Architecture')}.deb`;
        assert.ok(field(ours, n)!.startsWith('pool/main/') && field(ours, n)!.endsWith(`/${file}`), `${field(ours, n)} names ${file}`);
      } else assert.equal(field(ours, n), v, `${key(want)}: ${n}`);
    }
  }
});

test('Release.gpg verifies with sqv against the armored /pubkey; InRelease with gpgv', async () => {
  const d = tmpDir('apt-sqv-');
  const base = `${repoUrl('acme')}/dists/stable`;
  fs.writeFileSync(path.join(d, 'key.asc'), await bytes(`${repoUrl('acme')}/pubkey`));
  fs.writeFileSync(path.join(d, 'Release'), await bytes(`${base}/Release`));
  fs.writeFileSync(path.join(d, 'Release.gpg'), await bytes(`${base}/Release.gpg`));
  fs.writeFileSync(path.join(d, 'InRelease'), await bytes(`${base}/InRelease`));
  fs.writeFileSync(path.join(d, 'key.gpg'), await bytes(`${repoUrl('acme')}/keyring.gpg`));
  const r = await runCommand('sqv', ['--keyring', path.join(d, 'key.asc'), path.join(d, 'Release.gpg'), path.join(d, 'Release')]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^[0-9A-F]{40}$/m, 'sqv prints the signing key fingerprint');
  // sqv also reads the binary keyring apt uses as signed-by.
  assert.equal((await runCommand('sqv', ['--keyring', path.join(d, 'key.gpg'), path.join(d, 'Release.gpg'), path.join(d, 'Release')])).code, 0);
  const g = await runCommand('gpgv', ['--keyring', path.join(d, 'key.gpg'), '--output', path.join(d, 'signed'), path.join(d, 'InRelease')]);
  assert.equal(g.code, 0, g.out);
  assert.ok(fs.readFileSync(path.join(d, 'signed')).equals(fs.readFileSync(path.join(d, 'Release'))), 'InRelease signs exactly the Release bytes');
  // A tampered Release fails.
  fs.appendFileSync(path.join(d, 'Release'), 'X: 1\n');
  assert.notEqual((await runCommand('sqv', ['--keyring', path.join(d, 'key.asc'), path.join(d, 'Release.gpg'), path.join(d, 'Release')])).code, 0);
});

test('a private repository: apt with a read token in auth.conf.d works, without it apt gets 401; the installer takes the token', async (t) => {
  await up(deb({ Package: 'secret-tool', Version: '1.0', Architecture: 'amd64' }), 'secret');
  const patch = await fetch(`${srv.url}/api/repos/apt/secret/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.equal(patch.status, 200);
  const tk = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'apt-reader', role: 'read', repoPattern: 'secret' }) });
  assert.equal(tk.status, 201);
  const token = ((await tk.json()) as { token: string }).token;

  assert.equal((await fetch(`${repoUrl('secret')}/keyring.gpg`)).status, 401);
  const keyring = await bytes(`${repoUrl('secret')}/keyring.gpg`, { Authorization: `Basic ${Buffer.from(`token:${token}`).toString('base64')}` });
  const sources = `deb [signed-by=KEYRING] ${repoUrl('secret')} stable main\n`;

  const anon = aptClient({ keyring, sources });
  const a = await anon.update();
  assert.match(a.out, /401\s+Unauthorized/, a.out);
  assert.equal(await anon.candidate('secret-tool'), null);

  // The auth.conf entry the repository page shows (scheme included: apt applies scheme-less entries to https only).
  const page = await fetch(`${srv.url}/ui/apt/secret`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes('/etc/apt/auth.conf.d/secret.conf'), 'auth.conf snippet shown');
  assert.ok(html.includes(`machine ${repoUrl('secret')}\nlogin token\npassword &lt;TOKEN&gt;`), 'auth.conf snippet content');
  const withToken = aptClient({ keyring, sources, authConf: `machine ${repoUrl('secret')}\nlogin token\npassword ${token}\n` });
  clean(await withToken.update(), 'apt-get update with the read token');
  assert.equal(await withToken.candidate('secret-tool'), '1.0');
  clean(await withToken.run('apt-get', ['download', 'secret-tool'], withToken.dlDir), 'apt-get download with the read token');
  assert.deepEqual(fs.readdirSync(withToken.dlDir), ['secret-tool_1.0_amd64.deb']);

  // A read token for another repository does not open this one.
  const other = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'other', role: 'read', repoPattern: 'acme' }) });
  const otherToken = ((await other.json()) as { token: string }).token;
  const wrong = aptClient({ keyring, sources, authConf: `machine ${repoUrl('secret')}\nlogin token\npassword ${otherToken}\n` });
  assert.doesNotMatch((await wrong.update()).out, /Get:\d+ .*Packages/);
  assert.equal(await wrong.candidate('secret-tool'), null);

  const probe = await runCommand('unshare', ['--mount', 'true']);
  if (probe.code !== 0) {
    t.diagnostic('no mount namespaces: installer with a token not run');
    return;
  }
  const url = `${repoUrl('secret')}/dists/stable/install`;
  const { r, root } = await inSandbox(`curl -fsSL -u token:${token} '${url}' | ARTIFACTD_TOKEN=${token} sh\napt-cache policy secret-tool`);
  clean(r, 'private install script');
  assert.match(r.out, /Candidate: 1\.0$/m);
  const conf = path.join(root, 'etc/apt/auth.conf.d/secret.conf');
  assert.equal(fs.readFileSync(conf, 'utf8'), `machine ${repoUrl('secret')}\nlogin token\npassword ${token}\n`);
  assert.equal((fs.statSync(conf).mode & 0o777).toString(8), '600');
  assert.ok(fs.readFileSync(path.join(root, 'etc/apt/keyrings/secret.gpg')).equals(keyring));
});

test('an imported key (gpg-generated Ed25519) signs the repository; apt trusts gpg\'s own export of it', async () => {
  await up(deb({ Package: 'keyed', Version: '1.0', Architecture: 'amd64' }), 'keyed');
  const oldKeyring = await bytes(`${repoUrl('keyed')}/keyring.gpg`);
  const home = tmpDir('apt-gnupg-');
  const gpg = (args: string[], input?: string) => runCommand('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input });
  let r = await gpg(['--quick-gen-key', 'Imported Key <imported@example.org>', 'ed25519', 'sign', 'never']);
  assert.equal(r.code, 0, r.out);
  const secret = await gpg(['--armor', '--export-secret-keys', 'imported@example.org']);
  const armoredPrivateKey = secret.out.slice(secret.out.indexOf('-----BEGIN PGP PRIVATE KEY BLOCK-----'));
  const imp = await fetch(`${srv.url}/api/repos/apt/keyed/keys/import`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ armoredPrivateKey }) });
  assert.equal(imp.status, 200, await imp.clone().text());
  const exported = path.join(home, 'exported.gpg');
  r = await gpg(['--output', exported, '--export', 'imported@example.org']);
  assert.equal(r.code, 0, r.out);

  const sources = `deb [signed-by=KEYRING] ${repoUrl('keyed')} stable main\n`;
  const c = aptClient({ keyring: fs.readFileSync(exported), sources });
  clean(await c.update(), 'apt-get update with the imported key');
  assert.equal(await c.candidate('keyed'), '1.0');
  // A client still holding the replaced key is refused.
  const stale = aptClient({ keyring: oldKeyring, sources });
  const s = await stale.update();
  assert.match(s.out, /NO_PUBKEY|not signed|signatures couldn't be verified/, s.out);
  assert.equal(await stale.candidate('keyed'), null);
});
