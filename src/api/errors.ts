import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ValidationError, type ValidationIssue } from '../core/errors.js';

interface AjvIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

function locOf(context: string, issue: AjvIssue): (string | number)[] {
  const part = context === 'querystring' ? 'query' : context === 'params' ? 'path' : context;
  const path = issue.instancePath
    .split('/')
    .slice(1)
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment.replace(/~1/g, '/')));
  if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
    path.push(issue.params.missingProperty);
  }
  return [part, ...path];
}

function messageOf(issue: AjvIssue): string {
  if (issue.keyword === 'required') return 'field required';
  if (issue.keyword === 'pattern')
    return `String must match the following pattern: ${issue.params.pattern}.`;
  return issue.message ?? 'invalid value';
}

/**
 * Maps every error to the Svix wire format. Client mistakes get a 4xx that says what was
 * wrong; only a bug in Switchboard produces a 500, and its detail is never leaked.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ValidationError) {
    return reply.code(422).send({ detail: error.issues });
  }
  if (error instanceof AppError) {
    return reply.code(error.status).send({ code: error.code, detail: error.detail });
  }
  if (error.validation) {
    const context = error.validationContext ?? 'body';
    const issues: ValidationIssue[] = (error.validation as AjvIssue[]).map((issue) => ({
      loc: locOf(context, issue),
      msg: messageOf(issue),
      type: issue.keyword === 'required' ? 'value_error.missing' : 'value_error',
    }));
    return reply.code(422).send({ detail: issues });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply
        .code(413)
        .send({ code: 'payload_too_large', detail: 'Request payload is too large.' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.code(415).send({
        code: 'unsupported_media_type',
        detail: 'Request bodies must be application/json.',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply
        .code(400)
        .send({ code: 'bad_request', detail: 'The request body is empty but JSON was declared.' });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const detail =
      error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
        ? `Malformed JSON body: ${error.message}`
        : error.message;
    return reply.code(status).send({ code: 'bad_request', detail });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({ code: 'internal_error', detail: 'Internal server error' });
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({
    code: 'not_found',
    detail: `No route for ${request.method} ${request.url.split('?')[0]}`,
  });
}
