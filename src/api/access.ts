import type { FastifyRequest } from 'fastify';
import { ForbiddenError, NotFoundError } from '../core/errors.js';
import type { Principal } from '../platform/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** Organisation-level operations (create applications, event types, messages…). */
export function requireOrg(request: FastifyRequest): void {
  if (request.principal.kind !== 'org') throw new ForbiddenError();
}

/**
 * A key scoped to one application sees nothing of any other: another application's resources
 * answer 404, exactly as if they did not exist.
 */
export function requireAppAccess(request: FastifyRequest, appId: string): void {
  const principal = request.principal;
  if (principal.kind === 'app' && principal.appId !== appId) {
    throw new NotFoundError('Application not found');
  }
}

/** The natural list order, or the caller's `order=ascending|descending`. */
export function listOrder(
  order: 'ascending' | 'descending' | undefined,
  natural: 'asc' | 'desc',
): 'asc' | 'desc' {
  if (order === 'ascending') return 'asc';
  if (order === 'descending') return 'desc';
  return natural;
}
