/**
 * tarFileHead / tarPadding: a file written in pieces (header, data in any number of parts,
 * padding) is byte for byte the entry writeTar writes, for plain, prefix-split and pax names;
 * GNU tar reads the pieced archive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { END_OF_ARCHIVE, tarFileHead, tarPadding, writeTar } from '../../../src/util/tar-writer';

const names = ['APKINDEX', `${'d'.repeat(120)}/file`, 'ü'.repeat(150)];
const sizes = [0, 1, 511, 512, 513, 5000];

test('header, data and padding written apart are the entry writeTar writes', () => {
  for (const name of names) {
    for (const size of sizes) {
      const data = Buffer.alloc(size, 0x61);
      const mtime = new Date(1_700_000_000_000);
      const pieced = Buffer.concat([tarFileHead(name, size, mtime), data.subarray(0, size >> 1), data.subarray(size >> 1), tarPadding(size), END_OF_ARCHIVE]);
      assert.ok(pieced.equals(writeTar([{ name, data, mtime }])), `${name.slice(0, 20)}… ${size} bytes`);
    }
  }
});

test('GNU tar lists a pieced archive', () => {
  const parts = names.flatMap((name) => [tarFileHead(name, 3, new Date(0)), Buffer.from('abc'), tarPadding(3)]);
  const listed = execFileSync('tar', ['-tf', '-'], { input: Buffer.concat([...parts, END_OF_ARCHIVE]) }).toString().trim().split('\n');
  assert.deepEqual(listed, names);
});
