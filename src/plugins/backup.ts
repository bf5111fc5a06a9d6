import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isLoopbackHost } from '../config.js';
import { problemResponse, sendProblem } from './errors.js';
import { sameSecret } from './metrics.js';

/** What the running process offers `npm run backup` when its database is the embedded one. */
export interface BackupSource {
  /** Random per start, written to DATA_DIR/backup-access for the command (main.ts). */
  token: string;
  dump: () => Promise<Blob>;
}

/** The socket's own address (never X-Forwarded-For) is this machine's, and the token is right. */
function allowed(request: FastifyRequest, token: string): boolean {
  const address = (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const header = request.headers.authorization ?? '';
  return isLoopbackHost(address) && header.startsWith('Bearer ') && sameSecret(header.slice('Bearer '.length), token);
}

/**
 * `GET /backup`: the embedded database's files, consistent, while the server runs, for `npm run
 * backup` on this machine. The token is in DATA_DIR, readable only by whoever can read the
 * database's own files; the request must also come from loopback. With PostgreSQL there is
 * nothing to give: pg_dump does it.
 */
export function backupRoute(app: FastifyInstance, source: BackupSource | undefined): void {
  app.get(
    '/backup',
    {
      schema: {
        operationId: 'backupEmbeddedDatabase',
        summary: 'A copy of the embedded database',
        tags: ['platform'],
        description:
          "For `npm run backup` on this machine while the server runs: the embedded database's files as a gzipped tarball, taken between transactions. Only from loopback, with the token the server writes to DATA_DIR/backup-access at start. With PostgreSQL (DATABASE_URL), 409: use pg_dump.",
        produces: ['application/gzip'],
        response: {
          200: {
            description: 'The database files',
            content: {
              'application/gzip': { schema: Type.String({ description: 'A gzipped tar of the data directory' }) },
            },
          },
          403: problemResponse('Not from this machine, or without the token from DATA_DIR/backup-access'),
          409: problemResponse('The database is PostgreSQL (code not_embedded): back it up with pg_dump'),
          500: problemResponse('Unexpected server error (details are logged, never returned)'),
        },
      },
    },
    async (request, reply) => {
      if (!source) {
        return sendProblem(request, reply, {
          status: 409,
          code: 'not_embedded',
          title: 'Not the embedded database',
          detail: 'This server uses PostgreSQL (DATABASE_URL): back it up with pg_dump.',
        });
      }
      if (!allowed(request, source.token)) {
        return sendProblem(request, reply, {
          status: 403,
          code: 'forbidden',
          title: 'Forbidden',
          detail: 'Backups are given to this machine only, with the token in DATA_DIR/backup-access.',
        });
      }
      const started = Date.now();
      const tarball = Buffer.from(await (await source.dump()).arrayBuffer());
      request.log.info({ bytes: tarball.length, ms: Date.now() - started }, 'embedded database backed up');
      return reply.type('application/gzip').header('cache-control', 'no-store').send(tarball);
    },
  );
}
