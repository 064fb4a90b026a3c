/**
 * Format detection for uploads without `provider=`: decided by the bytes, with the client
 * file name as a hint. A wheel is a zip with exactly one top-level `*.dist-info/METADATA`; an
 * sdist is a gzip tar or zip named like `{name}-{version}.tar.gz|.zip` whose single top-level
 * directory holds PKG-INFO. Any error while looking means "not ours".
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import type { UploadedFile } from '../../src/core/provider';
import { byteLimit, decompressor, sniffCompression } from '../../src/util/compression';
import { readHead } from '../../src/util/files';
import { readTar } from '../../src/util/tar';
import { looksLikeSdistFilename, sdistExtension } from './names';
import { scanZip, singleTopDir } from './zip';

const DETECT_MAX_TAR_ENTRIES = 10_000;
const DETECT_MAX_TAR_BYTES = 256 * 1024 * 1024;

async function detectZip(file: UploadedFile): Promise<boolean> {
  const name = file.clientFilename.toLowerCase();
  const wheelName = name === '' || name.endsWith('.whl');
  const sdistName = sdistExtension(name) === '.zip' && looksLikeSdistFilename(file.clientFilename);
  if (!wheelName && !sdistName) return false;
  const { zip, names } = await scanZip(file.localPath, file.size, 'zip', () => false);
  zip.close();
  if (wheelName) {
    let metadata = 0;
    for (const n of names) if (/^[^/]+\.dist-info\/METADATA$/.test(n)) metadata++;
    return metadata === 1;
  }
  return names.has(`${singleTopDir(names, 'zip')}/PKG-INFO`);
}

async function detectTarGz(file: UploadedFile): Promise<boolean> {
  let top: string | null = null;
  let found = false;
  const input = pipeline(fs.createReadStream(file.localPath), decompressor('gzip'), byteLimit(DETECT_MAX_TAR_BYTES, 'tar'), () => {});
  await readTar(input, {
    maxEntries: DETECT_MAX_TAR_ENTRIES,
    onEntry: async (e) => {
      const name = e.name.replace(/\/+$/, '');
      if (name === '') return;
      const first = name.split('/')[0]!;
      if (top === null) top = first;
      if (first !== top) return 'stop';
      if (name === `${top}/PKG-INFO`) {
        found = true;
        return 'stop';
      }
    },
  });
  return found;
}

export async function detect(file: UploadedFile): Promise<boolean> {
  try {
    const head = await readHead(file.localPath, 6);
    if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return await detectZip(file);
    if (sniffCompression(head) === 'gzip' && sdistExtension(file.clientFilename) === '.tar.gz' && looksLikeSdistFilename(file.clientFilename)) {
      return await detectTarGz(file);
    }
    return false;
  } catch {
    return false;
  }
}
