import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type Static, Type } from 'typebox';
import { isDatabaseUnavailable } from '../db/reachability.js';
import { DomainError, type FieldError } from '../errors.js';
import { loggableError } from '../http/logging.js';
import { FORMAT_MESSAGES } from '../http/validation.js';

export const FieldErrorSchema = Type.Object({
  pointer: Type.String({ description: 'JSON Pointer to the offending value within the request part named by `in`' }),
  in: Type.Optional(Type.Enum(['body', 'query', 'params', 'headers'])),
  message: Type.String(),
});

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI naming the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong, for a person to read' }),
    code: Type.String({ description: 'Stable machine-readable code, e.g. validation_failed, slot_unavailable' }),
    instance: Type.Optional(Type.String()),
    requestId: Type.String({ description: 'Quote this when reporting a problem' }),
    errors: Type.Optional(Type.Array(FieldErrorSchema, { description: 'Each invalid field, for validation problems' })),
  },
  { description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

/** An OpenAPI response entry for an error status, served as application/problem+json. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: Problem } } };
}

const PROBLEM_TYPE_BASE = 'urn:liaison:problem:';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const CONTEXTS: Record<string, FieldError['in']> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** A problem lists at most this many fields, whatever the validator found. */
export const MAX_FIELD_ERRORS = 10;

function fieldErrors(validation: AjvError[], context: string | undefined): FieldError[] {
  const where = context ? CONTEXTS[context] : undefined;
  // One entry per field; the branches of an anyOf become "… or …".
  const messages = new Map<string, string[]>();
  for (const error of validation) {
    let pointer = error.instancePath || '';
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
    if (error.keyword === 'required') {
      pointer = `${pointer}/${String(error.params.missingProperty)}`;
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      pointer = `${pointer}/${String(error.params.additionalProperty)}`;
      message = 'is not a known field';
    } else if (error.keyword === 'format') {
      message = FORMAT_MESSAGES[String(error.params.format)] ?? message;
    }
    const list = messages.get(pointer || '/') ?? [];
    if (!list.includes(message)) list.push(message);
    messages.set(pointer || '/', list);
  }
  return [...messages].slice(0, MAX_FIELD_ERRORS).map(([pointer, list]) => ({
    pointer,
    ...(where ? { in: where } : {}),
    message: list.join(' or '),
  }));
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: Omit<Problem, 'type' | 'requestId' | 'instance'> & { headers?: Record<string, string> },
) {
  const { headers, ...body } = problem;
  if (headers) reply.headers(headers);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({
      type: `${PROBLEM_TYPE_BASE}${problem.code}`,
      ...body,
      instance: request.url.split('?')[0],
      requestId: String(request.id),
    });
}

/** 503 `database_unavailable`: the database could not be reached or did not answer in time. */
export function databaseUnavailable(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(request, reply, {
    status: 503,
    code: 'database_unavailable',
    title: 'Service unavailable',
    detail: 'The database cannot be reached just now. Try again in a moment.',
    headers: { 'retry-after': '5' },
  });
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
};

const CLIENT_ERRORS: Record<string, [number, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'Request headers too large', 'The request headers are too large.'],
  HPE_URI_TOO_LONG: [414, 'uri_too_long', 'URI too long', 'The address is too long.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'Request timeout', 'The request took too long to arrive.'],
};

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (oversized headers, timeouts):
 * written straight to the socket, still as problem+json.
 */
export function rawClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const [status, code, title, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'bad_request',
    'Bad request',
    'The request could not be read.',
  ];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail, code });
  socket.write(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
  // Closed once written, whether or not the client closes its side: a slow client must not keep
  // a half-closed socket (and its file descriptor) open.
  socket.destroySoon();
}

/** The first line of an error's own message, without the SQL or values drizzle adds after it. */
function firstLine(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const source = error.message.startsWith('Failed query:') && cause instanceof Error ? cause : error;
  return (source.message.split('\n')[0] ?? '').slice(0, 200);
}

export interface ErrorsOptions {
  /**
   * Renders a page for a browser that asked for a path that is not the API (a readable 404 page
   * instead of JSON); set by the web plugin once it is registered.
   */
  pages?: { notFound?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> };
  /**
   * Run before a 404 is answered: the public read budget (set once the rate limiter is there), so
   * a stream of unknown paths costs what a stream of known ones does.
   */
  notFoundLimit?: { check?: (request: FastifyRequest, reply: FastifyReply) => Promise<void> };
}

function isApiPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/api' || url.startsWith('/docs') || url.startsWith('/health');
}

/** One place that turns every error into application/problem+json; no stack or SQL reaches a client. */
export const errorsPlugin = fp(async (app: FastifyInstance, options: ErrorsOptions = {}) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DomainError) {
      return sendProblem(request, reply, {
        status: error.status,
        code: error.code,
        title: error.title,
        detail: error.message,
        ...(error.extra.errors ? { errors: error.extra.errors } : {}),
        ...(error.extra.headers ? { headers: error.extra.headers } : {}),
      });
    }
    if (error.validation) {
      const errors = fieldErrors(error.validation as AjvError[], error.validationContext);
      const detail = errors.map((e) => `${e.in ?? 'request'} ${e.pointer} ${e.message}`).join('; ');
      return sendProblem(request, reply, {
        status: 400,
        code: 'validation_failed',
        title: 'Invalid request',
        detail: `The request is invalid: ${detail}.`,
        errors,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, {
        status,
        code: FASTIFY_CODES[error.code] ?? (status === 429 ? 'rate_limited' : 'bad_request'),
        title: status === 429 ? 'Too many requests' : 'Bad request',
        detail: error.message,
      });
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ code: loggableError(error).code, reason: firstLine(error) }, 'database unavailable');
      return databaseUnavailable(request, reply);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, {
      status: 500,
      code: 'internal_error',
      title: 'Internal server error',
      detail: `Something went wrong on our side. Quote request id ${String(request.id)} when reporting it.`,
    });
  });

  const notFoundLimit = async (request: FastifyRequest, reply: FastifyReply) =>
    options.notFoundLimit?.check?.(request, reply);
  app.setNotFoundHandler({ preHandler: notFoundLimit }, (request, reply) => {
    const pageNotFound = options.pages?.notFound;
    if (pageNotFound && !isApiPath(request.url) && (request.headers.accept ?? '').includes('text/html')) {
      return pageNotFound(request, reply);
    }
    return sendProblem(request, reply, {
      status: 404,
      code: 'route_not_found',
      title: 'Not found',
      detail: `There is no ${request.method} ${request.url.split('?')[0]} in this API. See /docs for the routes.`,
    });
  });
});
