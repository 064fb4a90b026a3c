import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidPackageError } from '../../../src/core/errors';
import {
  isNormalizedName, isValidProjectName, looksLikeSdistFilename, normalizeName, parseSdistFilename, parseWheelFilename,
} from '../../../providers/pypi/names';
import { normalizeVersion } from '../../../providers/pypi/version';
import { py } from './helpers';

test('normalizeName matches packaging.utils.canonicalize_name', () => {
  const names = ['Frob', 'frob', 'Foo.Bar', 'foo__bar', 'Foo-_.-Bar', 'zope.interface', 'A', 'python-dateutil', 'Django_REST.framework', 'a1.b2-c3_d4'];
  const expected = JSON.parse(py(`from packaging.utils import canonicalize_name
print(json.dumps([canonicalize_name(n) for n in A['n']]))`, { n: names })) as string[];
  names.forEach((n, i) => {
    assert.equal(normalizeName(n), expected[i]);
    assert.ok(isNormalizedName(expected[i]!));
    assert.equal(isNormalizedName(n), n === expected[i], n);
  });
});

test('valid project names follow the core metadata Name rule', () => {
  for (const n of ['a', 'A1', 'foo.bar', 'foo-bar_baz', '1abc']) assert.ok(isValidProjectName(n), n);
  for (const n of ['', '-foo', 'foo-', 'foo bar', 'fo/o', '../x', 'föö', '.hidden']) assert.ok(!isValidProjectName(n), n);
});

const WHEELS = [
  'demo_pkg-1.0-py3-none-any.whl',
  'Demo.Pkg-1.0-py3-none-any.whl',
  'demo-1.0-1-py3-none-any.whl',
  'demo-1.0-12abc-py3-none-any.whl',
  'demo-2.0.post1-py2.py3-none-any.whl',
  'numpy-1.26.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  'demo-1.0+local.1-cp311-abi3-macosx_11_0_arm64.whl',
];
const BAD_WHEELS = [
  'demo-1.0-py3-none.whl', // 4 parts
  'demo-1.0-x1-a-py3-none-any.whl', // 7 parts
  'demo-1.0-abc-py3-none-any.whl', // build tag must start with a digit
  'de__mo-1.0-py3-none-any.whl', // not a normalized-escape name
];

test('parseWheelFilename agrees with packaging.utils.parse_wheel_filename', () => {
  const expected = JSON.parse(py(`from packaging.utils import parse_wheel_filename, InvalidWheelFilename
out = []
for f in A['f']:
    try:
        n, v, b, tags = parse_wheel_filename(f)
        out.append({'name': n, 'version': str(v), 'build': list(b) if b else None,
                    'py': sorted({t.interpreter for t in tags}), 'abi': sorted({t.abi for t in tags}), 'plat': sorted({t.platform for t in tags})})
    except InvalidWheelFilename as e:
        out.append(None)
print(json.dumps(out))`, { f: [...WHEELS, ...BAD_WHEELS] })) as ({ name: string; version: string; build: [number, string] | null; py: string[]; abi: string[]; plat: string[] } | null)[];
  WHEELS.forEach((f, i) => {
    const e = expected[i]!;
    assert.ok(e, `packaging accepts ${f}`);
    const w = parseWheelFilename(f);
    assert.equal(w.normalizedName, e.name);
    assert.equal(w.version === e.version || normalizeVersion(w.version) === e.version, true);
    assert.deepEqual(w.buildTag ? [w.buildTag.number, w.buildTag.rest] : null, e.build);
    assert.deepEqual([...new Set(w.pythonTags)].sort(), e.py);
    assert.deepEqual([...new Set(w.abiTags)].sort(), e.abi);
    assert.deepEqual([...new Set(w.platformTags.map((t) => t.toLowerCase()))].sort(), e.plat);
  });
  BAD_WHEELS.forEach((f, i) => {
    assert.equal(expected[WHEELS.length + i], null, `packaging rejects ${f}`);
    assert.throws(() => parseWheelFilename(f), InvalidPackageError, f);
  });
  // stricter than packaging (which yields an empty python tag); pip's own wheel regex needs one
  assert.throws(() => parseWheelFilename('demo-1.0--none-any.whl'), /empty part/);
  assert.throws(() => parseWheelFilename('demo-1.0-py3-none.whl'), /5 or 6 dash-separated parts/);
  assert.throws(() => parseWheelFilename('demo-1.0-abc-py3-none-any.whl'), /build tag "abc" must start with a digit/);
});

test('PEP 625 sdist names agree with packaging.utils.parse_sdist_filename', () => {
  const files = ['demo_pkg-1.0.tar.gz', 'demo-2.0rc1.zip', 'zope_interface-5.4.0.tar.gz'];
  const expected = JSON.parse(py(`from packaging.utils import parse_sdist_filename
print(json.dumps([[parse_sdist_filename(f)[0], str(parse_sdist_filename(f)[1])] for f in A['f']]))`, { f: files })) as [string, string][];
  files.forEach((f, i) => {
    const s = parseSdistFilename(f);
    assert.equal(normalizeName(s.name), expected[i]![0]);
    assert.equal(normalizeVersion(s.version), expected[i]![1]);
  });
  assert.throws(() => parseSdistFilename('foo-bar-1.0.tar.gz'), /exactly one "-"/);
  assert.throws(() => parseSdistFilename('foo-1.0.tar.bz2'), /must end with .tar.gz or .zip/);
});

test('legacy sdist names are split with the metadata name', () => {
  assert.deepEqual(parseSdistFilename('foo-bar-1.0.tar.gz', 'foo_bar'), { name: 'foo-bar', version: '1.0', extension: '.tar.gz' });
  assert.deepEqual(parseSdistFilename('zope.interface-5.0.zip', 'zope.interface'), { name: 'zope.interface', version: '5.0', extension: '.zip' });
  assert.deepEqual(parseSdistFilename('Foo-1.0-1.tar.gz', 'foo'), { name: 'Foo', version: '1.0-1', extension: '.tar.gz' });
  assert.throws(() => parseSdistFilename('bar-1.0.tar.gz', 'foo'), /differs from the metadata Name "foo"/);
  assert.ok(looksLikeSdistFilename('foo-1.0.tar.gz'));
  assert.ok(!looksLikeSdistFilename('foo.tar.gz'));
  assert.ok(!looksLikeSdistFilename('foo-1.0.pkg.tar.zst'));
});
