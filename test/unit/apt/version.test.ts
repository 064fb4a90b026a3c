import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { compareDebianVersions, parseDebianVersion, versionWithoutEpoch } from '../../../providers/apt/version';

/** Pairs covering epochs, ~, +, letters, revisions, leading zeros and odd characters. */
const PAIRS: [string, string][] = [
  ['1.0', '1.0'], ['1.0', '1.1'], ['1.0~rc1', '1.0'], ['1.0a', '1.0'], ['1.0+b1', '1.0'], ['1:0.1', '2.0'],
  ['1.0-1~bpo1', '1.0-1'], ['1.0~~', '1.0~'], ['1.0~~a', '1.0~~'], ['1.0~', '1.0'], ['1.0', '1.0-0'],
  ['1.0-0', '1.0-0.1'], ['0:1.0', '1.0'], ['0:1.0', '1:0'], ['2:1', '10:0.1'], ['10:1', '9:99'],
  ['1.01', '1.1'], ['1.001', '1.1'], ['1.0010', '1.10'], ['01', '1'], ['1.2.3', '1.2.10'], ['1.2.3', '1.2.3.0'],
  ['1.2', '1.2.0'], ['1.2a', '1.2b'], ['1.2A', '1.2a'], ['1.2Z', '1.2a'], ['1.2+', '1.2a'], ['1.2.', '1.2+'],
  ['1.2-1', '1.2-1.1'], ['1.2-1', '1.2-10'], ['1.2-1a', '1.2-1'],
  ['1.2-1+deb12u1', '1.2-1'], ['1.2-1+deb12u1', '1.2-1+deb12u2'], ['1.2-1~deb11u1', '1.2-1'], ['3.6.7-1~18.04', '3.6.7-1'],
  ['3.6.7-1~18.04', '3.6.7-1~16.04'], ['2.0-1ubuntu1', '2.0-1'], ['2.0-1ubuntu1', '2.0-2'], ['1.0~beta1', '1.0~alpha2'],
  ['1.0~rc1', '1.0~beta9'], ['1.0~rc10', '1.0~rc9'], ['1.0+git20200101', '1.0+git20191231'], ['1.0+dfsg-1', '1.0-1'],
  ['1.0+dfsg', '1.0~dfsg'], ['1.0.0~alpha', '1.0.0~~'], ['7:1.0', '7:1.0-1'], ['1.0-1-1', '1.0-1'], ['1.0-1-1', '1.0-2'],
  ['1:1.0:1-1', '1:1.0-1'], ['4.4.0-1', '4.4-1'], ['0.9', '0.10'],
  ['0.99', '0.100'], ['1.0.a', '1.0.1'], ['1.0a1', '1.0a'], ['1.0aa', '1.0a'], ['1.0a', '1.0b~'], ['9', '10'],
  ['999999999999999999', '1000000000000000000'], ['1.0-0ubuntu0.1', '1.0-0'], ['1.0~', '1.0~0'], ['1.0~0', '1.0'],
  ['2.30-1', '2.3-1'], ['1.0.0', '1'], ['0.0', '0'], ['1:1.0~rc1-1', '1:1.0-1'], ['0:0.0-0', '0'], ['1.0+b1', '1.0.1'],
  ['1.0-1.1', '1.0-1+b1'], ['5.10.0-8', '5.10.0-10'], ['1.0-rc1', '1.0'], ['2.2.0~rc1+dfsg-1', '2.2.0+dfsg-1'],
];

function dpkgOrder(pairs: [string, string][]): number[] {
  // One shell for all pairs; each pair is answered by dpkg itself.
  const script = pairs
    .map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`)
    .join('\n');
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

test('Debian version order agrees with dpkg --compare-versions on the corpus', () => {
  assert.ok(PAIRS.length >= 60, `corpus has ${PAIRS.length} pairs`);
  const expected = dpkgOrder(PAIRS);
  assert.equal(expected.length, PAIRS.length);
  const mismatches = PAIRS.flatMap(([a, b], i) => {
    const got = compareDebianVersions(a, b);
    const back = compareDebianVersions(b, a);
    const bad: string[] = [];
    if (got !== expected[i]) bad.push(`${a} vs ${b}: got ${got}, dpkg says ${expected[i]}`);
    if (back !== -expected[i]) bad.push(`${b} vs ${a}: got ${back}, dpkg says ${-expected[i]}`);
    return bad;
  });
  assert.deepEqual(mismatches, []);
});

test('docs/formats/apt.md#version-order examples', () => {
  assert.ok(compareDebianVersions('1.0~rc1', '1.0') < 0);
  assert.ok(compareDebianVersions('1.0a', '1.0') > 0);
  assert.ok(compareDebianVersions('1.0+b1', '1.0') > 0);
  assert.ok(compareDebianVersions('1:0.1', '2.0') > 0);
  assert.ok(compareDebianVersions('1.0-1~bpo1', '1.0-1') < 0);
  assert.ok(compareDebianVersions('1.0~~', '1.0~') < 0);
  assert.equal(compareDebianVersions('1.0', '1.0-0'), 0);
});

test('sorting a shuffled list gives dpkg order', () => {
  const versions = ['1.0', '1:0.1', '1.0~rc1', '1.0-1', '1.0+b1', '0.9', '1.0-1~bpo1', '2.0~', '1.0a', '10'];
  const sorted = versions.slice().sort(compareDebianVersions);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [r] = dpkgOrder([[sorted[i], sorted[i + 1]]]);
    assert.ok(r <= 0, `${sorted[i]} should not sort after ${sorted[i + 1]}`);
  }
});

test('version syntax', () => {
  const ok = ['1.0', '1:1.0-1', '3.6.7-1~18.04', '1.0+dfsg-1+deb12u1', '0', '2:1.0:3-1', '1.0-1-2', '1.0~rc1'];
  for (const v of ok) assert.equal(typeof parseDebianVersion(v), 'object', v);
  assert.deepEqual(parseDebianVersion('2:1.0-1-3'), { epoch: 2, upstream: '1.0-1', revision: '3' });
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['a1.0', /does not start with a digit/],
    ['1.0 1', /whitespace/],
    ['x:1.0', /epoch "x" is not a number/],
    [':1.0', /epoch before ":" is empty/],
    ['1:', /nothing after the epoch/],
    ['1.0-', /revision .* is empty/],
    ['1.0_1', /contains "_"/],
    ['1:1.0-1:2', /revision "1:2" contains ":"/],
    ['1.0-a/b', /contains "\/"/],
    ['99999999999:1', /too big/],
  ];
  for (const [v, re] of bad) {
    const r = parseDebianVersion(v);
    assert.equal(typeof r, 'string', `${JSON.stringify(v)} should be invalid`);
    assert.match(r as string, re);
  }
});

test('pool names drop the epoch', () => {
  assert.equal(versionWithoutEpoch('1:2.0-1'), '2.0-1');
  assert.equal(versionWithoutEpoch('2.0-1'), '2.0-1');
});
