/**
 * From an uploaded wheel or sdist to a ParsedPackage: check the bytes against the file name
 * (pip reads name, version and tags from the file name, so it must be the real one and agree
 * with the metadata), read the core metadata, and prepare the PEP 658 `.metadata` attachment.
 */
import crypto from 'node:crypto';
import type { Attachment, PackageMeta, ParsedPackage, UploadInput } from '../../src/core/provider';
import { InvalidPackageError } from '../../src/core/errors';
import { readHead } from '../../src/util/files';
import type { PypiIndexData } from './entry';
import { type CoreMetadata, isExtraRequirement, metadataVersionTuple, parseCoreMetadata, requirementName } from './metadata';
import { normalizeName, parseSdistFilename, parseWheelFilename, sdistExtension } from './names';
import { readSdist } from './sdist';
import { normalizeVersion, versionsEqual } from './version';
import { distInfoProject, readWheel } from './wheel';

/**
 * PyPI serves `.metadata` files as opaque bytes. An octet-stream type also keeps compressing
 * proxies away: pip hashes the body as received (decode_content=False), so a gzip
 * Content-Encoding would break the advertised hash.
 */
export const METADATA_CONTENT_TYPE = 'application/octet-stream';

export function checkSha256Digest(sent: string | undefined, actual: string): void {
  if (sent === undefined || sent === '') return;
  if (sent.toLowerCase() !== actual.toLowerCase()) {
    throw new InvalidPackageError(`sha256_digest ${sent.toLowerCase()} does not match the uploaded file (sha256 ${actual.toLowerCase()})`);
  }
}

/** Name and version from the file name must be the metadata's (names normalized, versions by PEP 440 equality). */
export function checkAgreement(filename: string, fileName: string, fileVersion: string, meta: CoreMetadata, source: string): void {
  if (normalizeName(fileName) !== normalizeName(meta.name)) {
    throw new InvalidPackageError(
      `project name in file name "${filename}" ("${fileName}", normalized "${normalizeName(fileName)}") differs from ${source} Name "${meta.name}" (normalized "${normalizeName(meta.name)}")`,
    );
  }
  // PyPI compares packaging Version objects, so `1.0` and `1.0.0`, `1.0-1` and `1.0.post1` agree.
  if (!versionsEqual(fileVersion, meta.version)) {
    const why = normalizeVersion(fileVersion) === null ? ' (not a valid PEP 440 version)' : '';
    throw new InvalidPackageError(`version in file name "${filename}" ("${fileVersion}"${why}) differs from ${source} Version "${meta.version}"`);
  }
}

/** Display metadata kept with the file (no long description: entries() loads meta for every row). */
export function packageMeta(m: CoreMetadata): PackageMeta {
  const depends: string[] = [];
  const seen = new Set<string>();
  for (const req of m.requiresDist) {
    if (isExtraRequirement(req)) continue; // optional dependency of an extra, not of the package
    const n = requirementName(req);
    if (n && !seen.has(normalizeName(n))) {
      seen.add(normalizeName(n));
      depends.push(n);
    }
  }
  const meta: PackageMeta = { displayName: m.name, depends, projectUrls: m.projectUrls };
  if (m.summary !== undefined) meta.description = m.summary;
  const license = m.licenseExpression ?? m.license;
  if (license !== undefined) meta.license = license;
  const url = m.homePage ?? Object.values(m.projectUrls)[0];
  if (url !== undefined) meta.url = url;
  if (m.requiresPython !== undefined) meta.requiresPython = m.requiresPython;
  if (m.author !== undefined || m.authorEmail !== undefined) meta.author = m.author ?? m.authorEmail;
  return meta;
}

/** The long description kept for the package page (READMEs are rarely longer). */
const MAX_LONG_DESCRIPTION = 64 * 1024;

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

export async function parseUpload(input: UploadInput): Promise<ParsedPackage> {
  const { file } = input;
  const filename = file.clientFilename;
  if (!filename) {
    throw new InvalidPackageError('a PyPI upload needs the file name (pip reads the name, version and tags from it): send it as the multipart file name');
  }
  checkSha256Digest(input.params.sha256_digest, file.hashes.sha256);
  const head = await readHead(file.localPath, 4);
  const isZip = head.length === 4 && head.readUInt32LE(0) === 0x04034b50;

  let metadata: CoreMetadata;
  let metadataBytes: Buffer;
  let served: boolean;
  if (filename.toLowerCase().endsWith('.whl')) {
    const wf = parseWheelFilename(filename);
    if (!isZip) throw new InvalidPackageError(`"${filename}" is not a zip archive, so it is not a wheel`);
    const wheel = await readWheel(file.localPath, file.size, `wheel "${filename}"`);
    metadataBytes = wheel.metadata;
    metadata = parseCoreMetadata(metadataBytes, `${wheel.distInfoDir}/METADATA`);
    checkAgreement(filename, wf.name, wf.version, metadata, 'METADATA');
    if (distInfoProject(wheel.distInfoDir) !== normalizeName(metadata.name)) {
      throw new InvalidPackageError(`wheel "${filename}": directory "${wheel.distInfoDir}" does not belong to project "${metadata.name}"`);
    }
    served = true;
  } else {
    const ext = sdistExtension(filename);
    if (!ext) throw new InvalidPackageError(`"${filename}" is neither a wheel (.whl) nor a source distribution (.tar.gz, .zip)`);
    if (ext === '.zip' && !isZip) throw new InvalidPackageError(`"${filename}" is not a zip archive`);
    const sdist = await readSdist(file.localPath, file.size, ext, `sdist "${filename}"`);
    metadataBytes = sdist.pkgInfo;
    metadata = parseCoreMetadata(metadataBytes, `${sdist.topDir}/PKG-INFO`);
    const sf = parseSdistFilename(filename, metadata.name);
    checkAgreement(filename, sf.name, sf.version, metadata, 'PKG-INFO');
    // PyPI serves sdist metadata only once it is reliable: 2.2+ (PEP 643) with nothing Dynamic.
    const [major, minor] = metadataVersionTuple(metadata.metadataVersion);
    served = (major > 2 || (major === 2 && minor >= 2)) && metadata.dynamic.length === 0;
  }

  const partition = normalizeName(metadata.name);
  const attachments: Attachment[] = served ? [{ suffix: '.metadata', data: metadataBytes, contentType: METADATA_CONTENT_TYPE }] : [];
  return {
    name: metadata.name,
    version: metadata.version,
    arch: '',
    filename,
    path: `files/${partition}/${filename}`,
    partition,
    meta: packageMeta(metadata),
    indexData: {
      ...(metadata.requiresPython !== undefined ? { requiresPython: metadata.requiresPython } : {}),
      ...(metadata.description?.trim() ? { description: metadata.description.slice(0, MAX_LONG_DESCRIPTION) } : {}),
      ...(served ? { metadataSha256: sha256(metadataBytes) } : {}),
    } satisfies PypiIndexData,
    attachments,
  };
}
