/**
 * Our vercmp against the real `vercmp` binary shipped with pacman (Debian's
 * pacman-package-manager): a hand-picked corpus of tricky pairs plus random versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { vercmp } from '../../../providers/pacman/vercmp';

const CORPUS: Array<[string, string]> = [
  ['1.0', '1.0'], ['1.0a', '1.0'], ['1.0.a', '1.0'], ['1.0rc1', '1.0'], ['1.0.0', '1.0'],
  ['1:1.0', '2.0'], ['1.10', '1.9'], ['01', '1'], ['1.0_1', '1.0.1'], ['1.10.0', '1.2.3'],
  ['1.2.3', '1.10.0'], ['1.0-1', '1.0-2'], ['1.0-5', '1.0'], ['1.0', '1.0-5'], ['1.0-1', '1.0.1-1'],
  ['2:1.0-1', '1:9.9-9'], ['0:1.0', '1.0'], [':1.0', '1.0'], ['1.0-1.1', '1.0-1'], ['1.0-1', '1.0-1.0'],
  ['1.0alpha', '1.0beta'], ['1.0beta', '1.0rc'], ['1.0rc', '1.0'], ['1.0a1', '1.0a'], ['1.0.1a', '1.0.1'],
  ['1..0', '1.0'], ['1.0', '1..0'], ['1.0.', '1.0'], ['1.0', '1.0.'], ['1_0', '1.0'],
  ['1+0', '1.0'], ['1~0', '1.0'], ['1.0~rc1', '1.0'], ['a', 'b'], ['b', 'a'],
  ['A', 'a'], ['1.0A', '1.0a'], ['abc', '1'], ['1', 'abc'], ['1a', '1'],
  ['1', '1a'], ['1.a', '1'], ['1.a', '1.0'], ['1.0a', '1.0b'], ['0001.0', '1.00'],
  ['1.002', '1.2'], ['1.02', '1.1'], ['2019.10.01', '2019.9.30'], ['r123.abc', 'r99.zzz'], ['1.0+git20200101', '1.0'],
  ['1.0+git20200101', '1.0.1'], ['1.0-1', '1.0-1'], ['1.0-1', '1.0-01'], ['3', '3:0'], ['1:', '1:0'],
  ['', '0'], ['', ''], ['1.0-', '1.0'], ['1.0-', '1.0-0'], ['1-2-3', '1-2-4'],
  ['1-2-3', '1-3-1'], ['10', '9'], ['99999999999999999999', '99999999999999999998'], ['1.0.0.0.1', '1.0.0.0'], ['5.4.3.arch1', '5.4.3'],
  ['5.4.3.arch1', '5.4.3.arch2'], ['6.1.0', '6.0.2'], ['1.2.3_4', '1.2.3.4'], ['1.2.3_4', '1.2.3..4'], ['1é', '1'],
  ['1.0é', '1.0.'], ['2.0-1', '1:1.0-1'], ['1:2.0-1', '1:2.0-1.1'], ['0.9.9-3', '0.10-1'], ['9.0p1', '9.0'],
];

function realVercmp(pairs: Array<[string, string]>): number[] {
  // One bash process for the whole corpus: vercmp prints -1, 0 or 1 per call.
  const script = 'while IFS= read -r a && IFS= read -r b; do vercmp "$a" "$b"; done';
  const input = pairs.map(([a, b]) => `${a}\n${b}\n`).join('');
  const out = execFileSync('bash', ['-c', script], { input, encoding: 'utf8' });
  return out.trim().split('\n').map((s) => Math.sign(Number(s)));
}

test('vercmp agrees with the real vercmp binary on a hand-picked corpus', () => {
  assert.ok(CORPUS.length >= 60);
  const expected = realVercmp(CORPUS);
  assert.equal(expected.length, CORPUS.length);
  const mismatches = CORPUS.map(([a, b], k) => ({ a, b, ours: vercmp(a, b), real: expected[k] })).filter(
    (m) => m.ours !== m.real,
  );
  assert.deepEqual(mismatches, []);
});

test('vercmp agrees with the real vercmp binary on random versions', () => {
  // Deterministic pseudo-random versions built from the characters that matter to the algorithm.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['0', '1', '2', '9', '10', '007', 'a', 'b', 'rc', 'Z', '.', '.', '-', '_', '+', ':', '~', '..'];
  const gen = (): string => {
    let s = '';
    const n = 1 + rnd(7);
    for (let k = 0; k < n; k++) s += alphabet[rnd(alphabet.length)];
    return s;
  };
  const pairs: Array<[string, string]> = [];
  for (let k = 0; k < 400; k++) {
    const a = gen();
    // Half the pairs share a prefix so the deeper rules get exercised.
    pairs.push([a, rnd(2) ? gen() : a + gen()]);
  }
  const expected = realVercmp(pairs);
  const mismatches = pairs.map(([a, b], k) => ({ a, b, ours: vercmp(a, b), real: expected[k] })).filter(
    (m) => m.ours !== m.real,
  );
  assert.deepEqual(mismatches, []);
});

test('vercmp is antisymmetric on the corpus', () => {
  for (const [a, b] of CORPUS) assert.equal(vercmp(a, b), -vercmp(b, a) || 0, `${a} vs ${b}`);
});
