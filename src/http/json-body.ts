import type { FastifyInstance } from 'fastify';
import { DomainError } from '../errors.js';

/** Deepest nesting of objects and arrays a JSON body may have; no request of this API needs more than 4. */
export const MAX_JSON_DEPTH = 20;

/**
 * Whether JSON text nests objects and arrays deeper than `limit`, by one pass over its characters
 * (no recursion, no parse): run before parsing, so a body nested 10,000 deep costs a scan, not a
 * parse and a walk.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c)
        index++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}

/**
 * application/json through Fastify's own parser (prototype poisoning refused), after the depth
 * check: a body nested deeper than MAX_JSON_DEPTH is a 400 problem naming the limit.
 */
export function boundJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      done(
        new DomainError(
          400,
          'body_too_deep',
          'Invalid request',
          `The body nests objects and arrays more than ${MAX_JSON_DEPTH} deep.`,
        ),
        undefined,
      );
      return;
    }
    parse(request, body as string, done);
  });
}
