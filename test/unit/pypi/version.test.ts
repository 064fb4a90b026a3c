import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersionStrings, normalizeVersion, parseVersion, versionsEqual } from '../../../providers/pypi/version';
import { py } from './helpers';

// Checked against the reference implementation, python's `packaging.version`.
const VERSIONS = [
  '1.0', '1.0.0', '1.0.0.0', 'v1.0', '1.0a1', '1.0.A2', '1.0alpha3', '1.0b1', '1.0-beta.2', '1.0c1', '1.0pre1', '1.0preview2',
  '1.0rc1', '1.0RC2', '1.0.dev0', '1.0dev', '1.0a1.dev1', '1.0.post1', '1.0-1', '1.0-r2', '1.0rev3', '1.0.post1.dev2',
  '1.0+local', '1.0+local.7', '1.0+7', '1.0+abc.5', '1.0+abc.xyz', '1.0+5.abc', '1!0.5', '2!1.0', '0.9', '1.1', '1.10', '1.2',
  '2013.10.1', '1.0.post', '1.0a', '1.0_rc_3', ' 1.0 ', '1.0.0rc1+ubuntu-1', '00.1', '1.01', '1.0.DEV', '1.0-post-2',
];
const INVALID = ['', '1.0+', 'abc', '1.0.', '1..0', '1.0-', '1.0+lo cal', '1.0 garbage', '1.0++a', '.1', 'v', '1.0+ab_'];

test('normalization matches packaging.version', () => {
  const expected = JSON.parse(py(
    `from packaging.version import Version, InvalidVersion
out = {}
for v in A['v']:
    try: out[v] = str(Version(v))
    except InvalidVersion: out[v] = None
print(json.dumps(out))`, { v: [...VERSIONS, ...INVALID] })) as Record<string, string | null>;
  for (const v of [...VERSIONS, ...INVALID]) assert.equal(normalizeVersion(v), expected[v], `normalize ${JSON.stringify(v)}`);
  for (const v of INVALID) assert.equal(parseVersion(v), null, `${JSON.stringify(v)} is not PEP 440`);
});

test('ordering and equality match packaging.version', () => {
  const pairs: [string, string][] = [];
  for (const a of VERSIONS) for (const b of VERSIONS) pairs.push([a, b]);
  const expected = JSON.parse(py(
    `from packaging.version import Version
print(json.dumps([(Version(a) > Version(b)) - (Version(a) < Version(b)) for a, b in A['p']]))`, { p: pairs })) as number[];
  pairs.forEach(([a, b], i) => {
    const ours = Math.sign(compareVersionStrings(a, b));
    if (expected[i] === 0) {
      assert.ok(versionsEqual(a, b), `${a} == ${b}`);
      // equal versions spelled differently still get a deterministic order (by string)
      assert.equal(ours, a === b ? 0 : a < b ? -1 : 1);
    } else {
      assert.equal(ours, expected[i], `${a} vs ${b}`);
      assert.ok(!versionsEqual(a, b));
    }
  });
});

test('invalid versions sort before valid ones and never equal anything', () => {
  assert.ok(compareVersionStrings('abc', '0.0.1') < 0);
  assert.ok(compareVersionStrings('1.0', 'zzz') > 0);
  assert.equal(versionsEqual('abc', 'abc'), false);
});
