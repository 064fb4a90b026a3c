/** The merge rule of virtual repositories with their own index (src/core/virtual-indexes.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntryRow } from '../../../src/core/provider';
import { mergeMemberEntries } from '../../../src/core/virtual-indexes';

let nextId = 1;
function row(name: string, version: string, arch: string, path: string, partition = 'stable/main'): EntryRow {
  return {
    id: nextId++, name, version, arch, filename: path.split('/').pop()!, path, partition, entry: `${name} ${version} ${path}`, meta: {}, size: 1,
    hashes: { sha256: '', sha512: '', sha1: '', md5: '' }, createdAt: new Date(0), yanked: null,
  };
}

test('first member wins on a path and on name+version+arch in a partition; a member never hides its own rows', () => {
  const a = [row('hello', '1.0', 'amd64', 'pool/h/hello_1.0_amd64.deb'), row('tool', '2', 'amd64', 'pool/t/tool_2.deb'), row('tool', '2', 'amd64', 'pool/t/tool_2.deb', 'testing/main')];
  const b = [
    row('hello', '1.0', 'amd64', 'pool/h/hello_1.0_amd64.deb'), // same path as A's
    row('tool', '2', 'amd64', 'other/tool_2.deb'), // same build as A's, another path
    row('tool', '2', 'amd64', 'other/tool_2.deb', 'unstable/main'), // a partition A lacks, at a path A lacks: kept
    row('hello', '0.9', 'amd64', 'pool/h/hello_0.9_amd64.deb'),
    row('hello', '1.0', 'arm64', 'pool/h/hello_1.0_arm64.deb'),
  ];
  const merged = mergeMemberEntries([a, b]);
  assert.deepEqual(merged.map((r) => r.entry), [
    'hello 1.0 pool/h/hello_1.0_amd64.deb',
    'tool 2 pool/t/tool_2.deb',
    'tool 2 pool/t/tool_2.deb',
    'tool 2 other/tool_2.deb',
    'hello 0.9 pool/h/hello_0.9_amd64.deb',
    'hello 1.0 pool/h/hello_1.0_arm64.deb',
  ]);
  // Reversed order: B wins.
  assert.equal(mergeMemberEntries([b, a]).filter((r) => r.name === 'hello' && r.version === '1.0' && r.arch === 'amd64')[0]!.id, b[0]!.id);
});
