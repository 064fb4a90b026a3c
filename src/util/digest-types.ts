/** The digests a package file can have. sha256 is always computed: it is the blob key and the ETag. */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['md5', 'sha1', 'sha256', 'sha512'];
