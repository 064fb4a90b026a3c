/**
 * apk version ordering. There is no apk binary on this machine, so expectations come from:
 *  - F: docs/formats/apk.md#version-order (measured with `apk version -t`, apk-tools 3.0.6);
 *  - T: apk-tools' own test corpus, test/unit/version.data (alpinelinux/apk-tools master,
 *       commit 90b974f), pairs copied as facts;
 *  - R: the suffix ranking stated in the brief and in apk-tools src/version.c's suffix table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareApkVersions, isValidApkVersion } from '../../../providers/apk/version';

const corpus: Array<[string, '<' | '>' | '=', string, 'F' | 'T']> = [
  ['1.0_rc1', '<', '1.0', 'F'],
  ['1.0_p1', '>', '1.0', 'F'],
  ['1.0a', '>', '1.0', 'F'],
  ['1.0.1', '>', '1.0a', 'F'],
  ['1.0-r1', '>', '1.0-r0', 'F'],
  ['2.34', '>', '0.1.0_alpha', 'T'],
  ['23_foo', '>', '4_beta', 'T'],
  ['1.0', '<', '1.0bc', 'T'],
  ['0.1.0_alpha', '=', '0.1.0_alpha', 'T'],
  ['0.1.0_alpha', '<', '0.1.3_alpha', 'T'],
  ['0.1.0_alpha2', '>', '0.1.0_alpha', 'T'],
  ['0.1.0_alpha', '<', '2.2.39-r1', 'T'],
  ['1.0.4-r3', '<', '1.0.4-r4', 'T'],
  ['1.1', '>', '1.1_alpha1', 'T'],
  ['1.2.1', '>', '1.2', 'T'],
  ['1.2', '<', '1.3_alpha', 'T'],
  ['1.3_alpha2', '<', '1.3_alpha3', 'T'],
  ['0.8_beta1', '<', '0.8_beta2', 'T'],
  ['2.3.0b-r1', '<', '2.3.0b-r2', 'T'],
  ['0.12.3', '>', '0.12', 'T'],
  ['0.13_beta4', '<', '0.13_beta5', 'T'],
  ['1.2.11', '<', '1.2.12.1', 'T'],
  ['0.2.0-r1', '=', '0.2.0-r1', 'T'],
  ['3.1_p16', '<', '3.1_p17', 'T'],
  ['1.06-r6', '<', '006', 'T'],
  ['006', '>', '1.0.0', 'T'],
  ['1.2.2-r1', '>', '1.2.2', 'T'],
  ['2.5.1-r8', '<', '2.5.1a-r1', 'T'],
  ['20040401', '>', '2.0.0_rc3-r1', 'T'],
  ['0.10.0', '<', '0.10.1_rc1', 'T'],
  ['1.1a', '<', '1.3a', 'T'],
  ['22.7', '>', '2.1_pre20', 'T'],
  ['2.1_pre20', '<', '2.1_pre26', 'T'],
  ['02.08.01b', '<', '4.77', 'T'],
  ['1.6d', '>', '1.2.07.8', 'T'],
  ['0.20070118', '<', '0.20070207_rc1', 'T'],
  ['0.9.8d', '<', '2.4.4', 'T'],
  ['2.9.11_pre20051101-r3', '>', '2.9.11_pre20051101', 'T'],
  ['1.3-r0', '<', '1.3.1-r0', 'T'],
  ['1.3_pre1-r1', '<', '1.3.2', 'T'],
  ['1.0_p10-r0', '>', '1.0_p9-r0', 'T'],
  ['0.1.0_alpha_pre2', '<', '0.1.0_alpha', 'T'],
  ['1.0.0_pre20191002222144-r0', '<', '1.0.0_pre20210530193627-r0', 'T'],
  ['6.0_pre1', '<', '6.0', 'T'],
  ['6.0_p1', '>', '6.0', 'T'],
  ['8.2.0', '<', '8.2.001', 'T'],
  ['8.2.0015', '<', '8.2.002', 'T'],
  ['1.0~1234', '<', '1.0~2345', 'T'],
  ['1.0~1234-r1', '<', '1.0~2345-r0', 'T'],
  ['1.0~1234-r1', '>', '1.0~1234-r0', 'T'],
  ['1.2.9.1-r1', '>', '1.2.9.1', 'T'],
  ['1.1.1-r4', '<', '222', 'T'],
];

const sign = (n: number) => (n < 0 ? '<' : n > 0 ? '>' : '=');

test('apk version corpus (docs/formats/apk.md#version-order and apk-tools version.data)', () => {
  assert.ok(corpus.length >= 40);
  for (const [a, op, b, src] of corpus) {
    assert.equal(sign(compareApkVersions(a, b)), op, `${a} ${op} ${b} [${src}]`);
    // the order is antisymmetric
    const back = op === '<' ? '>' : op === '>' ? '<' : '=';
    assert.equal(sign(compareApkVersions(b, a)), back, `${b} ${back} ${a} [${src}]`);
  }
});

test('suffix ranking _alpha < _beta < _pre < _rc < release < _cvs < _svn < _git < _hg < _p [R]', () => {
  const chain = ['1.0_alpha', '1.0_beta', '1.0_pre', '1.0_rc', '1.0', '1.0_cvs', '1.0_svn', '1.0_git', '1.0_hg', '1.0_p'];
  for (let i = 0; i < chain.length; i++) {
    for (let j = 0; j < chain.length; j++) {
      assert.equal(sign(compareApkVersions(chain[i]!, chain[j]!)), sign(i - j), `${chain[i]} vs ${chain[j]}`);
    }
  }
});

test('sorting a shuffled list gives apk order, revisions last [F, T]', () => {
  // 1.0_p1 < 1.0a: after equal numbers a letter ranks above any suffix (version.c token order; cf. T: 2.5.1-r8 < 2.5.1a-r1).
  const ordered = ['1.0_alpha1', '1.0_rc1', '1.0-r0', '1.0-r1', '1.0-r10', '1.0_p1-r0', '1.0a-r0', '1.0.1-r0', '1.2-r0', '1.10-r0'];
  const shuffled = [...ordered].reverse();
  shuffled.push(shuffled.shift()!);
  assert.deepEqual(shuffled.sort(compareApkVersions), ordered);
});

test('version validity matches version.data [T]', () => {
  for (const v of ['1.2', '0.1_pre2', '0.1_pre2~1234abcd', '0.1_p1_pre2', '0.1_alpha1_pre2', '0.1_git20240101_pre1', '1.0-r0']) {
    assert.ok(isValidApkVersion(v), v);
  }
  for (const v of ['0.1bc', '0.1bc1', '0.1a1', '0.1a.1', '0.1_pre2~', '0.1_pre2~1234xbcd', '0.1_foobar', '0.1-pre1.1', '0.1-r', '0.1-r2_pre1', '0.1-r2-r3', '0.1-r2.1', '.1', 'a', '_pre1', '-r1', '0.1_', '0.1__alpha', '0.1_1_alpha', '', '1.0/../x']) {
    assert.ok(!isValidApkVersion(v), v);
  }
});
