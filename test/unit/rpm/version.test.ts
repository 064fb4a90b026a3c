/**
 * rpm version order against the real rpm 4.18: `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'`
 * answers every pair of the corpus (rpm's own tests/rpmvercmp.at cases, epochs, releases,
 * `~` and `^`), both ways round (docs/formats/rpm.md#version-order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEvr, parseEvr, rpmvercmp } from '../../../providers/rpm/version';
import { haveRpmTools, rpmVercmp } from './helpers';

const PAIRS: [string, string][] = [
  // tests/rpmvercmp.at
  ['1.0', '1.0'], ['1.0', '2.0'], ['2.0.1', '2.0.1'], ['2.0', '2.0.1'], ['2.0.1a', '2.0.1a'], ['2.0.1a', '2.0.1'],
  ['5.5p1', '5.5p1'], ['5.5p1', '5.5p2'], ['5.5p10', '5.5p10'], ['5.5p1', '5.5p10'], ['10xyz', '10.1xyz'], ['xyz10', 'xyz10'],
  ['xyz10', 'xyz10.1'], ['xyz.4', 'xyz.4'], ['xyz.4', '8'], ['xyz.4', '2'], ['5.5p2', '5.6p1'], ['5.6p1', '6.5p1'],
  ['6.0.rc1', '6.0'], ['10b2', '10a1'], ['1.0aa', '1.0aa'], ['1.0a', '1.0aa'], ['10.0001', '10.0001'], ['10.0001', '10.1'],
  ['10.0001', '10.0039'], ['4.999.9', '5.0'], ['20101121', '20101121'], ['20101121', '20101122'], ['2_0', '2_0'], ['2.0', '2_0'],
  ['a', 'a'], ['a+', 'a+'], ['a+', 'a_'], ['+a', '+a'], ['+a', '_a'], ['+_', '+_'], ['_+', '+_'], ['_+', '_'], ['+', '_'],
  ['1.0~rc1', '1.0~rc1'], ['1.0~rc1', '1.0'], ['1.0~rc1', '1.0~rc2'], ['1.0~rc1~git123', '1.0~rc1~git123'], ['1.0~rc1~git123', '1.0~rc1'],
  ['1.0^', '1.0^'], ['1.0^', '1.0'], ['1.0', '1.0git1^'], ['1.0^git1', '1.0^git1'], ['1.0^git1', '1.0'], ['1.0^git1', '1.01'],
  ['1.0^20160101', '1.0^20160101'], ['1.0^20160101', '1.0.1'], ['1.0^20160102', '1.0^20160101'], ['1.0~rc1^git1', '1.0~rc1'],
  ['1.0^git1~pre', '1.0^git1'], ['1.0^git1~pre', '1.0^git1~pre'], ['1.0~rc1^git1', '1.0~rc1^git1'], ['1.0^git1', '1.0^git2'],
  // epochs and releases (rpmverCmp: release compared only when both have one)
  ['1:1.0', '2.0'], ['0:1.0', '1.0'], ['1.0-2', '1.0-10'], ['1.0-1', '1.0'], ['2:1.0-1', '1:9.9-9'], [':1.0', '0:1.0'],
  ['1.0-1.el9', '1.0-1.el8'], ['1.0-1.fc40', '1.0-1.fc40.1'], ['1.10', '1.9'], ['1.01', '1.1'], ['1e', '1.0'], ['abc', 'ABC'],
  ['2.0', '2a'], ['1.0-1~beta', '1.0-1'], ['10:1', '9:2'], ['1.0.0', '1.0'], ['1..0', '1.0'], ['1.0-1-1', '1.0-1'],
  ['1.0ü', '1.0'], ['999999999999999999999', '1000000000000000000000'], ['0001', '1'], ['1.a', '1.1'],
];

test('rpmvercmp and EVR order agree with rpm.vercmp of rpm 4.18 on the corpus', { skip: !haveRpmTools && 'rpm is not installed' }, () => {
  assert.ok(PAIRS.length >= 80, `corpus has ${PAIRS.length} pairs`);
  const expected = rpmVercmp(PAIRS);
  assert.equal(expected.length, PAIRS.length);
  const back = rpmVercmp(PAIRS.map(([a, b]) => [b, a]));
  const mismatches = PAIRS.flatMap(([a, b], i) => {
    const bad: string[] = [];
    if (compareEvr(a, b) !== expected[i]) bad.push(`${a} vs ${b}: got ${compareEvr(a, b)}, rpm says ${expected[i]}`);
    if (compareEvr(b, a) !== back[i]) bad.push(`${b} vs ${a}: got ${compareEvr(b, a)}, rpm says ${back[i]}`);
    return bad;
  });
  assert.deepEqual(mismatches, []);
});

test('docs/formats/rpm.md#version-order examples', () => {
  const chain = ['1.0~rc1', '1.0', '1.0^git1', '1.0.1'];
  for (let i = 1; i < chain.length; i++) assert.equal(rpmvercmp(chain[i - 1], chain[i]), -1, `${chain[i - 1]} < ${chain[i]}`);
  assert.equal(rpmvercmp('1.0~rc1^git1', '1.0~rc1'), 1);
  assert.equal(rpmvercmp('1.01', '1.1'), 0);
  assert.equal(rpmvercmp('1.0', '1_0'), 0);
  assert.equal(compareEvr('1:1.0', '2.0'), 1);
  assert.equal(compareEvr('1.0-2', '1.0-10'), -1);
});

test('parseEvr splits epoch at the leading digits and release at the last dash', () => {
  assert.deepEqual(parseEvr('3:1.2-4.el9'), { epoch: '3', version: '1.2', release: '4.el9' });
  assert.deepEqual(parseEvr('1.2'), { epoch: null, version: '1.2', release: null });
  assert.deepEqual(parseEvr(':1.2-1'), { epoch: '0', version: '1.2', release: '1' });
  assert.deepEqual(parseEvr('a:1-2-3'), { epoch: null, version: 'a:1-2', release: '3' });
});

test('sorting a shuffled list gives rpm order', () => {
  const sorted = ['1.0-1', '1:0.1-1', '1.0~rc1-1', '1.0^git1-1', '0.9-1', '1.0-10', '1.0-2'].sort(compareEvr);
  assert.deepEqual(sorted, ['0.9-1', '1.0~rc1-1', '1.0-1', '1.0-2', '1.0-10', '1.0^git1-1', '1:0.1-1']);
});
