/**
 * Typed errors that cross layers. Services throw them; the HTTP layer maps them to the
 * Svix wire format (`{code, detail}` or the 422 `{detail: [{loc, msg, type}]}` list).
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(detail = 'Entity not found') {
    super(404, 'not_found', detail);
  }
}

export class ConflictError extends AppError {
  constructor(detail = 'A conflict has occurred', code = 'conflict') {
    super(409, code, detail);
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, detail: string) {
    super(400, code, detail);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'Invalid token') {
    super(401, 'authentication_failed', detail);
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'Insufficient access for the given operation.') {
    super(403, 'insufficient access', detail);
  }
}

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A 422: what was wrong, where. */
export class ValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
    this.name = 'ValidationError';
  }

  static at(loc: (string | number)[], msg: string, type = 'value_error'): ValidationError {
    return new ValidationError([{ loc, msg, type }]);
  }
}
