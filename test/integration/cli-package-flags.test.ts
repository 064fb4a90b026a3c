/**
 * Issue 12, part 5: every rpcli command that takes a package (and version) accepts the
 * `-p <name>` / `-i <version>` flags `upload` teaches (the seed's syntax) next to the
 * positional `<package> [<version>]`; the same value given both ways and different is a
 * usage error (exit 2) that changes nothing. The real rpcli against a real server; the
 * server state is checked over HTTP, independently of the CLI's output.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload } from '../helpers/http';
import { rpcli, oneErrorLine } from './cli-run';

let srv: TestServer;
let dir: string;
let env: Record<string, string>;

/** The versions the server holds for a package, newest first ([] once it is gone). */
async function versions(repo: string, name: string): Promise<string[]> {
  const r = await getJson(`${srv.url}/api/repos/tar/${repo}/packages/${name}`);
  if (r.status === 404) return [];
  assert.equal(r.status, 200);
  return r.body.versions.map((v: { version: string }) => v.version);
}

async function seed(repo: string, name: string, vs: string[]): Promise<void> {
  for (const v of vs) {
    const r = await upload(srv.url, { name: `${name}-${v}.tgz`, data: Buffer.from(`${name} ${v}`) }, { provider: 'tar', reponame: repo, name, version: v });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-flags-'));
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
  await seed('flags', 'app', ['1.0', '2.0', '2.1+b1']);
});
after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  test('-p/-i, the positional form and a mix fetch the same version', async () => {
    const forms = [
      ['download', '-p', 'app', '-i', '1.0', '-r', 'flags'],
      ['download', 'app', '1.0', '-r', 'flags'],
      ['download', 'app', '-i', '1.0', '-r', 'flags'],
      ['download', '--name', 'app', '--version', '1.0', '-r', 'flags', '-y', 'tar'],
      // the same value both ways is no conflict
      ['download', 'app', '1.0', '-p', 'app', '-i', '1.0', '-r', 'flags'],
    ];
    for (const [i, args] of forms.entries()) {
      const out = path.join(dir, `form-${i}.tgz`);
      const r = await rpcli([...args, '-o', out], { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(fs.readFileSync(out, 'utf8'), 'app 1.0', args.join(' '));
    }
  });

  test('-p alone takes the newest version; a version with `+` passes through -i', async () => {
    const newest = path.join(dir, 'newest.tgz');
    assert.equal((await rpcli(['download', '-p', 'app', '-r', 'flags', '-o', newest], { env })).code, 0);
    assert.equal(fs.readFileSync(newest, 'utf8'), 'app 2.1+b1');
    const plus = path.join(dir, 'plus.tgz');
    const r = await rpcli(['download', '-p', 'app', '-i', '2.1+b1', '-r', 'flags', '-o', plus], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(plus, 'utf8'), 'app 2.1+b1');
    const missing = await rpcli(['download', '-p', 'app', '-i', '9.9', '-r', 'flags', '-o', dir], { env });
    assert.equal(missing.code, 3);
    assert.match(oneErrorLine(missing), /app has no version 9\.9/);
  });

  test('a name or version given twice and different: exit 2, nothing written', async () => {
    const out = path.join(dir, 'never.tgz');
    const name = await rpcli(['download', 'app', '-p', 'other', '-r', 'flags', '-o', out], { env });
    assert.equal(name.code, 2);
    assert.equal(oneErrorLine(name), 'package name given twice and different: -p "other" and argument "app"; give it once');
    const version = await rpcli(['download', 'app', '2.0', '-i', '1.0', '-r', 'flags', '-o', out], { env });
    assert.equal(version.code, 2);
    assert.equal(oneErrorLine(version), 'version given twice and different: -i "1.0" and argument "2.0"; give it once');
    // `-p app 1.0` reads the argument as the package; the message says how to give the version.
    const mixed = await rpcli(['download', '-p', 'app', '1.0', '-r', 'flags', '-o', out], { env });
    assert.equal(mixed.code, 2);
    assert.match(oneErrorLine(mixed), /-p "app" and argument "1\.0"; give it once \(with -p, give the version as -i 1\.0\)$/);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.existsSync(`${out}.part`), false);
  });
});

describe('delete', () => {
  before(() => seed('trash', 'old', ['1', '2', '3']));

  test('a conflict deletes nothing', async () => {
    for (const args of [
      ['delete', 'old', '-p', 'new', '-r', 'trash'],
      ['delete', 'old', '1', '-i', '2', '-r', 'trash'],
      ['delete', '-p', 'old', '2', '-r', 'trash'],
    ]) {
      const r = await rpcli(args, { env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneErrorLine(r), /given twice and different/);
    }
    assert.deepEqual(await versions('trash', 'old'), ['3', '2', '1']);
  });

  test('-p/-i deletes one version, the positional form another, -p alone every version', async () => {
    const one = await rpcli(['delete', '-p', 'old', '-i', '2', '-r', 'trash', '--json'], { env });
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { provider: 'tar', repo: 'trash', name: 'old', version: '2', deleted: 1 });
    assert.deepEqual(await versions('trash', 'old'), ['3', '1']);
    const positional = await rpcli(['delete', 'old', '1', '-r', 'trash'], { env });
    assert.equal(positional.code, 0, positional.stderr);
    assert.deepEqual(await versions('trash', 'old'), ['3']);
    await seed('trash', 'old', ['4']);
    const all = await rpcli(['delete', '--name', 'old', '-r', 'trash'], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /deleted old \(every version\) from tar\/trash: 2 file\(s\)/);
    assert.deepEqual(await versions('trash', 'old'), []);
  });

  test('-i without a package: exit 2 naming both forms', async () => {
    const r = await rpcli(['delete', '-i', '1', '-r', 'trash'], { env });
    assert.equal(r.code, 2);
    assert.equal(oneErrorLine(r), 'missing package name: rpcli delete <package> [<version>], or -p <package> [-i <version>]');
  });
});

describe('yank, unyank, info', () => {
  const yankedOf = async (v: string) =>
    (await getJson(`${srv.url}/api/repos/tar/flags/packages/app`)).body.versions.find((x: { version: string }) => x.version === v).files[0].yanked;

  test('yank and unyank with -p/-i', async () => {
    const y = await rpcli(['yank', '-p', 'app', '-i', '2.0', '-r', 'flags', '--reason', 'bad'], { env });
    assert.equal(y.code, 0, y.stderr);
    assert.equal(await yankedOf('2.0'), 'bad');
    const u = await rpcli(['unyank', '-p', 'app', '-i', '2.0', '-r', 'flags'], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.equal(await yankedOf('2.0'), null);
  });

  test('yank needs a version either way; a conflict yanks nothing', async () => {
    const none = await rpcli(['yank', '-p', 'app', '-r', 'flags'], { env });
    assert.equal(none.code, 2);
    assert.equal(oneErrorLine(none), 'missing version: rpcli yank <package> <version>, or -p <package> -i <version>');
    const conflict = await rpcli(['yank', 'app', '1.0', '-i', '2.0', '-r', 'flags'], { env });
    assert.equal(conflict.code, 2);
    assert.equal(await yankedOf('1.0'), null);
    assert.equal(await yankedOf('2.0'), null);
  });

  test('info -p; info takes no version', async () => {
    const r = await rpcli(['info', '-p', 'app', '-r', 'flags', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).name, 'app');
    const v = await rpcli(['info', '-p', 'app', '-i', '1.0', '-r', 'flags'], { env });
    assert.equal(v.code, 2);
    assert.match(oneErrorLine(v), /info does not take -i\/--version/);
  });

  test("rpcli --help and each command's --help show both forms", async () => {
    const general = await rpcli(['--help']);
    assert.equal(general.code, 0);
    assert.match(general.stdout, /^info, download, delete, yank and unyank take <package> \[<version>\], or -p <package> -i <version>$/m);
    for (const c of ['download', 'delete', 'yank', 'unyank']) {
      const h = await rpcli([c, '--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`rpcli ${c} <package>`), c);
      assert.match(h.stdout, new RegExp(`rpcli ${c} -p <package> \\[?-i <version>`), c);
      assert.match(h.stdout, /-p\/--name, -i\/--version/, c);
    }
  });
});
