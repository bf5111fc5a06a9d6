import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { Type } from 'typebox';
import packageJson from '../package.json' with { type: 'json' };
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { availabilityRoutes } from './modules/availability/routes.js';
import { createAvailabilityService } from './modules/availability/service.js';
import { librarianRoutes } from './modules/librarians/routes.js';
import { createLibrarianService } from './modules/librarians/service.js';
import { authPlugin } from './plugins/auth.js';
import { errorsPlugin, problemResponse, sendProblem } from './plugins/errors.js';
import { openapiPlugin } from './plugins/openapi.js';
import type { Clock } from './time/clock.js';

export interface AppDeps {
  db: Database;
  clock: Clock;
  config: Config;
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp({ db, clock, config, logger }: AppDeps) {
  const app = Fastify({
    logger: logger ?? { level: config.logLevel },
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const librarians = createLibrarianService({ db, config });
  const availability = createAvailabilityService({
    db,
    clock,
    config,
    librarians,
    busyRanges: async () => [],
  });

  await app.register(errorsPlugin);
  await app.register(authPlugin, { auth: config.auth, findLibrarianIdByEmail: librarians.findIdByEmail });
  await app.register(openapiPlugin, { version: packageJson.version });

  app.get(
    '/health',
    {
      schema: {
        operationId: 'health',
        tags: ['platform'],
        description: 'Liveness and database reachability, for load balancers. Anyone may call it.',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok'), database: Type.Literal('up'), version: Type.String() },
            { description: 'Serving, and the database answers' },
          ),
          503: problemResponse('The database cannot be reached'),
        },
      },
    },
    async (request, reply) => {
      try {
        await db.execute(sql`select 1`);
      } catch (error) {
        request.log.error({ err: error }, 'health check: database unreachable');
        return sendProblem(request, reply, {
          status: 503,
          code: 'database_unavailable',
          title: 'Service unavailable',
          detail: 'The database cannot be reached.',
        });
      }
      return { status: 'ok' as const, database: 'up' as const, version: packageJson.version };
    },
  );

  await app.register(
    async (api) => {
      await api.register(librarianRoutes, { librarians });
      await api.register(availabilityRoutes, { availability });
    },
    { prefix: '/api/v1' },
  );

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
