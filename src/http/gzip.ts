import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Whether Accept-Encoding allows gzip (by name or *, with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((entry) => {
    const [name = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return (name === 'gzip' || name === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** Gzipped bytes, made once per object a service keeps (the same object while its answer is unchanged). */
const gzippedAnswers = new WeakMap<object, Buffer>();

/**
 * Sends JSON already made (`json`, kept with `kept`, an object a cache holds while the answer is
 * unchanged) as it is, or gzipped once for every request that accepts gzip: a phone on a slow
 * link gets a tenth of the bytes, and the server neither serialises nor compresses per request.
 */
export function sendKeptJson(request: FastifyRequest, reply: FastifyReply, kept: object, json: Buffer) {
  reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
  if (!acceptsGzip(request.headers['accept-encoding'])) return reply.send(json);
  let bytes = gzippedAnswers.get(kept);
  if (!bytes) {
    bytes = gzipSync(json);
    gzippedAnswers.set(kept, bytes);
  }
  return reply.header('content-encoding', 'gzip').send(bytes);
}
