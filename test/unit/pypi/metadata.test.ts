import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidPackageError } from '../../../src/core/errors';
import { isExtraRequirement, parseCoreMetadata, requirementName } from '../../../providers/pypi/metadata';
import { packageMeta } from '../../../providers/pypi/parse';
import { py } from './helpers';

const SAMPLE = [
  'Metadata-Version: 2.4',
  'Name: Demo.Pkg',
  'Version: 1.2.0rc1',
  'Summary: A demo package',
  'Home-page: https://example.org/demo',
  'Author: Jane Doe',
  'Author-email: Jane Doe <jane@example.org>',
  'License-Expression: MIT OR Apache-2.0',
  'Requires-Python: >=3.8, <4',
  'Requires-Dist: requests[socks]>=2.0',
  'Requires-Dist: tomli; python_version < "3.11"',
  'Requires-Dist: pytest>=7; extra == "test"',
  'Requires-Dist: Requests_OAuthlib',
  'Requires-Dist: Tomli>=1; python_version < "3.10"',
  'Project-URL: Source, https://example.org/src',
  'Project-URL: Bug Tracker, https://example.org/issues',
  'Dynamic: License-File',
  'Keywords: demo,',
  '  continued',
  'Description-Content-Type: text/markdown',
  '',
  '# Demo',
  '',
  'Long description with ünïcode.',
  '',
].join('\n');

test('core metadata fields match packaging.metadata.parse_email', () => {
  const m = parseCoreMetadata(Buffer.from(SAMPLE), 'METADATA');
  const raw = JSON.parse(py(`from packaging.metadata import parse_email
raw, unparsed = parse_email(A['t'].encode())
assert not unparsed, unparsed
print(json.dumps(raw))`, { t: SAMPLE })) as Record<string, unknown>;
  assert.equal(m.metadataVersion, raw.metadata_version);
  assert.equal(m.name, raw.name);
  assert.equal(m.version, raw.version);
  assert.equal(m.summary, raw.summary);
  assert.equal(m.homePage, raw.home_page);
  assert.equal(m.author, raw.author);
  assert.equal(m.authorEmail, raw.author_email);
  assert.equal(m.licenseExpression, raw.license_expression);
  assert.equal(m.requiresPython, raw.requires_python);
  assert.deepEqual(m.requiresDist, raw.requires_dist);
  assert.deepEqual(m.projectUrls, raw.project_urls);
  assert.deepEqual(m.dynamic, (raw.dynamic as string[]).map((d) => d.toLowerCase()));
  assert.equal(m.description, raw.description);
  assert.equal(m.descriptionContentType, raw.description_content_type);
});

test('display meta: summary, license, bare dependency names without extras', () => {
  const meta = packageMeta(parseCoreMetadata(Buffer.from(SAMPLE), 'METADATA'));
  assert.equal(meta.description, 'A demo package');
  assert.equal(meta.license, 'MIT OR Apache-2.0');
  assert.equal(meta.url, 'https://example.org/demo');
  assert.equal(meta.requiresPython, '>=3.8, <4');
  assert.equal(meta.displayName, 'Demo.Pkg');
  assert.equal(meta.author, 'Jane Doe');
  // pytest is only for the "test" extra; tomli appears twice under different spellings
  assert.deepEqual(meta.depends, ['requests', 'tomli', 'Requests_OAuthlib']);
  assert.deepEqual(meta.projectUrls, { Source: 'https://example.org/src', 'Bug Tracker': 'https://example.org/issues' });
  assert.equal(requirementName('  foo.bar[x] (>=1.0)'), 'foo.bar');
  assert.ok(isExtraRequirement('x; extra=="a"'));
  assert.ok(!isExtraRequirement('x; python_version>"3"'));
});

test('legacy (1.x) Description header is unfolded', () => {
  const text = 'Metadata-Version: 1.1\nName: old\nVersion: 0.1\nDescription: line one\n        |  indented\n        line three\n       |\nPlatform: UNKNOWN\n';
  const m = parseCoreMetadata(Buffer.from(text), 'PKG-INFO');
  assert.equal(m.description, 'line one\n  indented\nline three\n');
});

test('bad metadata is refused with the reason', () => {
  const bad: [string, RegExp][] = [
    ['Name: x\nVersion: 1.0\n', /no Metadata-Version field/],
    ['Metadata-Version: 2.1\nVersion: 1.0\n', /no Name field/],
    ['Metadata-Version: 2.1\nName: x\n', /no Version field/],
    ['Metadata-Version: 2.1\nName: x\nVersion: one\n', /Version "one" is not a valid PEP 440 version/],
    ['Metadata-Version: 2.1\nName: -x\nVersion: 1\n', /not a valid project name/],
    ['Metadata-Version: 3.0\nName: x\nVersion: 1\n', /unsupported Metadata-Version "3.0"/],
    ['Metadata-Version: 2.1\nName: x\nName: y\nVersion: 1\n', /Name appears 2 times/],
    ['Metadata-Version: 2.1\nthis is not a header\n', /line 2 is not a "Field: value" header/],
    ['  continuation first\n', /continuation line with no field/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseCoreMetadata(Buffer.from(text), 'METADATA'), (e: unknown) => e instanceof InvalidPackageError && re.test(e.message), text);
  assert.throws(() => parseCoreMetadata(Buffer.from([0x4e, 0x61, 0xff, 0x0a]), 'METADATA'), /not valid UTF-8/);
});
