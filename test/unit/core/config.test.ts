import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/schema';

test('defaults need no configuration at all', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 8080);
  assert.equal(c.databaseUrl, `sqlite:${path.resolve('data', 'artifactd.sqlite')}`);
  assert.equal(c.S3_URL, undefined);
  assert.equal(c.MAX_UPLOAD_SIZE, 4 * 2 ** 30);
  assert.deepEqual(c.providerDefaults.apt?.arches, ['amd64', 'arm64']);
  assert.ok(Object.isFrozen(c));
});

test('every bad variable is listed in one error', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', BASE_URL: 'not a url', DATABASE_URL: 'postgres://x', MAX_UPLOAD_SIZE: 'lots', LOG_LEVEL: 'loud', ADMIN_TOKEN: 'short' }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      for (const v of ['PORT', 'BASE_URL', 'DATABASE_URL', 'MAX_UPLOAD_SIZE', 'LOG_LEVEL', 'ADMIN_TOKEN']) assert.match(e.message, new RegExp(`\\b${v}\\b`));
      return true;
    },
  );
});

test('sizes, lists and URLs are parsed', () => {
  const c = loadConfig({ MAX_UPLOAD_SIZE: '512MiB', APT_ARCHES: 'amd64, riscv64', BASE_URL: 'https://pkg.example.com/', DATABASE_URL: 'mysql://u:p@db:3306/art' });
  assert.equal(c.MAX_UPLOAD_SIZE, 512 * 2 ** 20);
  assert.deepEqual(c.providerDefaults.apt?.arches, ['amd64', 'riscv64']);
  assert.equal(c.BASE_URL, 'https://pkg.example.com');
  assert.equal(c.databaseUrl, 'mysql://u:p@db:3306/art');
});

test('CONFIG_FILE supplies values; the environment wins', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), 'c.json');
  fs.writeFileSync(f, JSON.stringify({ PORT: 9000, LOG_LEVEL: 'warn', PACMAN_ARCHES: ['x86_64', 'aarch64'] }));
  const c = loadConfig({ CONFIG_FILE: f, LOG_LEVEL: 'debug' });
  assert.equal(c.PORT, 9000);
  assert.equal(c.LOG_LEVEL, 'debug');
  assert.deepEqual(c.providerDefaults.pacman?.arches, ['x86_64', 'aarch64']);
});
