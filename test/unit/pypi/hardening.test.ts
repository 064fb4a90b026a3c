/**
 * Issue 13 regressions for wheels: damage in members other than METADATA (a bad CRC-32, a
 * local header that disagrees with the central directory) and RECORD hashes that do not
 * match. Python's zipfile (what pip unpacks with) is the reference for "damaged".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidPackageError } from '../../../src/core/errors';
import { pypiProvider } from '../../../providers/pypi';
import { makeZip, metadataText, py, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();
const b64 = (data: string) => crypto.createHash('sha256').update(data).digest('base64url');
const init = 'VERSION = "1.0"\n'.repeat(50);
const meta = metadataText('demo', '1.0');
const wheelFile = 'Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n';

function wheel(name: string, record: string, initText = init): string {
  return makeZip(path.join(dir, name), [
    { name: 'demo/__init__.py', text: initText },
    { name: 'demo-1.0.dist-info/METADATA', text: meta },
    { name: 'demo-1.0.dist-info/WHEEL', text: wheelFile },
    { name: 'demo-1.0.dist-info/RECORD', text: record },
  ]);
}
const goodRecord = `demo/__init__.py,sha256=${b64(init)},${init.length}\n"demo-1.0.dist-info/METADATA",sha256=${b64(meta)},${meta.length}\ndemo-1.0.dist-info/WHEEL,sha256=${b64(wheelFile)},${wheelFile.length}\ndemo-1.0.dist-info/RECORD,,\n`;
/** Python's zipfile.testzip(): the first member failing its CRC, or None. */
const pythonTestzip = (file: string) => py(`import zipfile\nprint(zipfile.ZipFile(A['f']).testzip())`, { f: file }).trim();

async function rejects(file: string, message: RegExp): Promise<void> {
  await assert.rejects(pypiProvider.parse(uploadInput(file, 'demo-1.0-py3-none-any.whl')), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('a wheel whose RECORD hashes match is accepted; a mismatching hash is refused', async () => {
  const good = wheel('good.whl', goodRecord);
  assert.equal((await pypiProvider.parse(uploadInput(good, 'demo-1.0-py3-none-any.whl'))).name, 'demo');
  await rejects(wheel('badhash.whl', goodRecord, init + '# changed\n'), /"demo\/__init__\.py" does not match its sha256 in RECORD/);
  await rejects(wheel('missing.whl', goodRecord + `demo/gone.py,sha256=${b64('x')},1\n`), /lists "demo\/gone\.py", which the wheel does not contain/);
});

test('a bad CRC-32 in a member other than METADATA is refused, as Python zipfile finds it', async () => {
  const file = wheel('crc.whl', goodRecord);
  const b = fs.readFileSync(file);
  // Stored CRC of demo/__init__.py in its central directory record (offset 16 of the record).
  const cd = b.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
  assert.equal(b.subarray(cd + 46, cd + 46 + 16).toString(), 'demo/__init__.py');
  b.writeUInt32LE((b.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16);
  b.writeUInt32LE((b.readUInt32LE(14) ^ 1) >>> 0, 14); // and in its local header, so only the data disagrees
  fs.writeFileSync(file, b);
  assert.equal(pythonTestzip(file), 'demo/__init__.py');
  await rejects(file, /"demo\/__init__\.py" fails its CRC-32 check/);
});

test('deflate damage inside another member is refused', async () => {
  const file = wheel('deflate.whl', goodRecord);
  const b = fs.readFileSync(file);
  const nameLen = b.readUInt16LE(26);
  const extraLen = b.readUInt16LE(28);
  const dataStart = 30 + nameLen + extraLen;
  b[dataStart + 3]! ^= 0xff;
  fs.writeFileSync(file, b);
  assert.notEqual(pythonTestzip(file), 'None');
  await rejects(file, /demo\/__init__\.py/);
});
