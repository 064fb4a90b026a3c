/**
 * Domain errors. Each carries the HTTP status and a stable machine-readable code;
 * one middleware (`errorHandler` in src/http/middleware.ts) turns them into `{error, code}` JSON.
 * Anything that is not a DomainError is a 500 whose details are logged, never sent.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The uploaded bytes are not a valid package of the format (400). */
export class InvalidPackageError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'invalid_package', message, details);
  }
}

/** A request parameter is missing or malformed (400). */
export class BadRequestError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'bad_request', message, details);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'authentication required: send a token as "Authorization: Bearer <token>" or as the basic-auth password') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'this token may not do that') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
  }
}

/** The same package file already exists and the repository is immutable (409). */
export class VersionExistsError extends DomainError {
  constructor(message: string) {
    super(409, 'version_exists', message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

export class TooLargeError extends DomainError {
  constructor(message: string) {
    super(413, 'too_large', message);
  }
}

export class UnsupportedMediaError extends DomainError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}
