/**
 * rpcli exit codes (documented in the README, section rpcli; scripts rely on them) and the one error
 * type commands throw. main.ts turns any error into ONE line on stderr, never a stack.
 */
export const EXIT = {
  OK: 0,
  /** The server refused the request (400, 413, 5xx ...), or something else went wrong. */
  ERROR: 1,
  /** Bad command line, missing local file, bad config file. */
  USAGE: 2,
  NOT_FOUND: 3,
  /** 401/403: no token, wrong token, or a token without rights. */
  AUTH: 4,
  CONFLICT: 5,
  /** Could not reach the server at all. */
  CONNECTION: 6,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.ERROR) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.USAGE);

/** HTTP status -> exit code. */
export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  return EXIT.ERROR;
}

const NET_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  EPIPE: 'connection closed by the server',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
};

/** A network-level failure (fetch's TypeError with a cause, or a node:http socket error) -> exit 6. */
export function connectionError(server: string, e: unknown): CliError | null {
  let err = e as { code?: string; cause?: unknown; message?: string } | undefined;
  // fetch wraps the socket error: TypeError('fetch failed', { cause })
  for (let i = 0; i < 3 && err && !err.code && err.cause; i++) err = err.cause as typeof err;
  const code = err?.code;
  if (!code || !(code in NET_CODES || /^E[A-Z]+$/.test(code))) return null;
  return new CliError(`cannot connect to ${server}: ${NET_CODES[code] ?? err?.message ?? code} (${code})`, EXIT.CONNECTION);
}
