import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../config.js';
import { described, IdParams } from '../../http/formats.js';
import { sendKeptJson } from '../../http/gzip.js';
import { problemResponse } from '../../plugins/errors.js';
import { Booking, IdempotencyHeaders } from '../bookings/schemas.js';
import { CreatePooledBooking, PoolList, PoolSlotList, PoolSlotQuery, Team, TeamInput, TeamList } from './schemas.js';
import type { PoolService } from './service.js';

const noPool = problemResponse('No such subject or team');
const listJson = new WeakMap<PoolSlotList, Buffer>();
const admin = { access: ['admin'] as const };

export const poolRoutes: FastifyPluginAsyncTypebox<{ pools: PoolService; rateLimit: Config['rateLimit'] }> = async (
  app,
  { pools, rateLimit },
) => {
  app.get(
    '/pools',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listPools',
        summary: 'Subjects and teams to book by',
        tags: ['pools'],
        description: 'Every subject an active librarian lists, and every team, for booking "any available librarian".',
        response: { 200: described(PoolList, 'Subjects and teams') },
      },
    },
    async () => pools.list(),
  );

  app.get(
    '/pools/slots',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listPoolSlots',
        summary: 'Times with any librarian of a subject or team',
        tags: ['pools'],
        description:
          'One list of times merged across the active librarians of a subject or a team (exactly one of the two): each time once, with every mode offered and the places when they differ.',
        querystring: PoolSlotQuery,
        response: { 200: described(PoolSlotList, 'Times, earliest first'), 404: noPool },
      },
    },
    async (request, reply) => {
      // The same merged list object while nothing changed: its JSON (and gzip) are made once.
      const list = await pools.slots(request.query);
      let json = listJson.get(list);
      if (!json) {
        json = Buffer.from(JSON.stringify(list));
        listJson.set(list, json);
      }
      return sendKeptJson(request, reply, list, json);
    },
  );

  app.post(
    '/pools/bookings',
    {
      config: {
        access: ['student'],
        rateLimit: {
          max: rateLimit.bookingWritesPerMinute,
          timeWindow: '1 minute',
          hook: 'preHandler' as const,
          keyGenerator: async (request) => `booking-write:user:${request.user?.sub ?? request.ip}`,
        },
      },
      schema: {
        operationId: 'createPooledBooking',
        summary: 'Book any available librarian',
        tags: ['pools'],
        description:
          'Books a time from GET /pools/slots with whichever librarian of the subject or team is free then: the one with the fewest confirmed sessions in the two weeks around it, in turn among equals, who takes the friends given. The booking names the librarian assigned. Honours Idempotency-Key.',
        headers: IdempotencyHeaders,
        body: CreatePooledBooking,
        response: {
          201: described(Booking, 'The booking, with the librarian assigned and its manage links'),
          404: noPool,
          409: problemResponse('Nobody is free then any more (slot_unavailable), or you have a session then'),
          422: problemResponse(
            'Not a time the pool offers (outside_availability), nobody free takes that many friends (too_many_companions), booking_limit_reached, mode_unavailable',
          ),
        },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { booking, replayed } = await pools.book(request.user!, request.body, key ? { idempotencyKey: key } : {});
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(booking);
    },
  );

  app.get(
    '/teams',
    {
      config: admin,
      schema: {
        operationId: 'listTeams',
        summary: 'List teams',
        tags: ['pools'],
        response: { 200: described(TeamList, 'Every team with its members') },
      },
    },
    async () => pools.listTeams(),
  );

  app.post(
    '/teams',
    {
      config: admin,
      schema: {
        operationId: 'createTeam',
        summary: 'Make a team of librarians',
        tags: ['pools'],
        description: 'A public name and description, and its members; students book "any librarian" of it.',
        body: TeamInput,
        response: {
          201: described(Team, 'The team'),
          409: problemResponse('A team of that name exists (team_exists)'),
          422: problemResponse('A member is not a librarian (unknown_librarian)'),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await pools.createTeam(request.user!, request.body)),
  );

  app.put(
    '/teams/:id',
    {
      config: admin,
      schema: {
        operationId: 'updateTeam',
        summary: 'Change a team',
        tags: ['pools'],
        params: IdParams,
        body: TeamInput,
        response: {
          200: described(Team, 'The team'),
          404: problemResponse('No such team'),
          422: problemResponse('A member is not a librarian (unknown_librarian)'),
        },
      },
    },
    async (request) => pools.updateTeam(request.user!, request.params.id, request.body),
  );

  app.delete(
    '/teams/:id',
    {
      config: admin,
      schema: {
        operationId: 'deleteTeam',
        summary: 'Remove a team',
        tags: ['pools'],
        description: 'Its bookings stay, with their librarians.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Removed' }), 404: problemResponse('No such team') },
      },
    },
    async (request, reply) => {
      await pools.removeTeam(request.user!, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
