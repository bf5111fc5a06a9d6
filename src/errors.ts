/**
 * Domain errors thrown by services; the errors plugin maps each to an RFC 9457 problem.
 * `code` is stable: clients may branch on it.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
  }
}

export interface FieldError {
  /** JSON Pointer into the request part named by `in`. */
  pointer: string;
  in?: 'body' | 'query' | 'params' | 'headers';
  message: string;
}

export class NotFound extends DomainError {
  constructor(what: string) {
    super(404, 'not_found', 'Not found', `${what} was not found.`);
  }
}

export class Unauthenticated extends DomainError {
  constructor(detail = 'Sign in first: send a valid bearer token.') {
    super(401, 'unauthenticated', 'Not signed in', detail, { headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class Forbidden extends DomainError {
  constructor(detail: string) {
    super(403, 'forbidden', 'Not allowed', detail);
  }
}

export class Conflict extends DomainError {
  constructor(code: string, detail: string) {
    super(409, code, 'Conflict', detail);
  }
}

/** Well-formed input that breaks a rule (422), as opposed to malformed input (400). */
export class RuleViolation extends DomainError {
  constructor(code: string, detail: string, errors?: FieldError[]) {
    super(422, code, 'Request breaks a rule', detail, errors ? { errors } : {});
  }
}

/** Malformed input found after schema validation (e.g. an unknown time zone). */
export class InvalidInput extends DomainError {
  constructor(detail: string, errors: FieldError[]) {
    super(400, 'validation_failed', 'Invalid request', detail, { errors });
  }
}
