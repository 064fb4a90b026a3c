/**
 * The package's detached signature (`<package>.sig`, docs/formats/pacman.md#package-file, #database-entries, #signatures): either the
 * packager's, uploaded as the multipart field `sig`, or made here with the repository key.
 * repo-add refuses armored signatures and ones above 16384 bytes; so do we.
 */
import fs from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { InvalidPackageError } from '../../src/core/errors';
import type { RepoSigner, UploadedFile } from '../../src/core/provider';

export const MAX_SIGNATURE_BYTES = 16384;

/** Read and check an uploaded packager signature: binary OpenPGP, a signature packet, small. */
export async function readPackagerSignature(sig: UploadedFile): Promise<Buffer> {
  if (sig.size > MAX_SIGNATURE_BYTES) {
    throw new InvalidPackageError(`the "sig" file is ${sig.size} bytes; a package signature may be at most ${MAX_SIGNATURE_BYTES} bytes`);
  }
  if (sig.size === 0) throw new InvalidPackageError('the "sig" file is empty');
  const data = await fs.readFile(sig.localPath);
  if (data.length > MAX_SIGNATURE_BYTES) throw new InvalidPackageError(`the "sig" file is larger than ${MAX_SIGNATURE_BYTES} bytes`);
  if (data.includes('-----BEGIN PGP')) {
    throw new InvalidPackageError('the "sig" file is ASCII-armored; pacman needs a binary signature (gpg --detach-sign without --armor)');
  }
  try {
    const parsed = await openpgp.readSignature({ binarySignature: data });
    if (parsed.packets.length === 0) throw new Error('no signature packet');
  } catch (e) {
    throw new InvalidPackageError(`the "sig" file is not a binary OpenPGP signature: ${(e as Error).message}`);
  }
  return data;
}

/** Sign the package file with the repository key (streamed: packages can be GBs). */
export async function signWithRepoKey(signer: RepoSigner, localPath: string): Promise<Buffer> {
  return (await signer.openpgp()).detachSignFile(localPath);
}

/** Whether a binary signature was made by the key with this fingerprint (its issuer key ID is the fingerprint's tail). */
export async function isSignedBy(signature: Buffer, fingerprint: string): Promise<boolean> {
  try {
    const sig = await openpgp.readSignature({ binarySignature: signature });
    const fpr = fingerprint.toLowerCase();
    return sig.getSigningKeyIDs().some((id) => fpr.endsWith(id.toHex().toLowerCase()));
  } catch {
    return false;
  }
}
