/**
 * readTar must settle on every input: a source destroyed without an error (an upstream
 * consumer gave up) used to leave the promise pending forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { InvalidPackageError } from '../../../src/core/errors';
import { readTar } from '../../../src/util/tar';

test('a source destroyed without an error rejects instead of hanging', async () => {
  const src = new PassThrough();
  const result = readTar(src, { what: 'test archive', onEntry: () => undefined });
  src.write(Buffer.alloc(100, 1)); // part of a header
  setTimeout(() => src.destroy(), 20);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    result.then(() => 'resolved', (e: unknown) => e),
    new Promise((r) => (timer = setTimeout(() => r('hung'), 2000))),
  ]);
  clearTimeout(timer);
  assert.ok(outcome instanceof InvalidPackageError, `got ${String(outcome)}`);
  assert.match(outcome.message, /test archive ended before the end of the archive/);
});

test('a source that ends normally still resolves', async () => {
  const src = new PassThrough();
  const names: string[] = [];
  const result = readTar(src, { onEntry: (e) => void names.push(e.name) });
  src.end(Buffer.alloc(1024)); // an empty archive: two zero blocks
  await result;
  assert.deepEqual(names, []);
});
