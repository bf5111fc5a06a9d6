import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { described, IdParams } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { Booking } from '../bookings/schemas.js';
import {
  JoinWaitlist,
  OfferTokenQuery,
  WaitingCounts,
  WaitlistEntry,
  WaitlistEntryList,
  WaitlistFigures,
  WaitlistFiguresQuery,
  WaitlistOffer,
} from './schemas.js';
import type { WaitlistService } from './service.js';

const gone = problemResponse('The offer has ended: expired, declined, or taken first (offer_gone)');
const noOffer = problemResponse('No such offer');

export const waitlistRoutes: FastifyPluginAsyncTypebox<{ waitlist: WaitlistService }> = async (app, { waitlist }) => {
  app.post(
    '/waitlist',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'joinWaitlist',
        summary: 'Wait for a time',
        tags: ['waitlist'],
        description:
          'Wait for a librarian, or any librarian of a subject or team, between two dates, on some days and between some times, perhaps with a friend. When a time that suits frees up it is offered by email, one student at a time, oldest first. At most 3 entries waiting at once.',
        body: JoinWaitlist,
        response: {
          201: described(WaitlistEntry, 'Waiting'),
          404: problemResponse('No such librarian, subject or team'),
          422: problemResponse(
            'Dates or times out of order or range (bad_range, bad_times), or 3 waiting already (waitlist_limit)',
          ),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await waitlist.join(request.user!, request.body)),
  );

  app.get(
    '/waitlist',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'listWaitlist',
        summary: 'My waitlist entries',
        tags: ['waitlist'],
        response: { 200: described(WaitlistEntryList, 'Entries still waiting, with any open offer') },
      },
    },
    async (request) => waitlist.list(request.user!),
  );

  app.delete(
    '/waitlist/:id',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'leaveWaitlist',
        summary: 'Stop waiting',
        tags: ['waitlist'],
        params: IdParams,
        response: { 204: Type.Null({ description: 'Left' }), 404: problemResponse('No such entry of yours') },
      },
    },
    async (request, reply) => {
      await waitlist.leave(request.user!, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/waitlist/offer',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getWaitlistOffer',
        summary: 'Read an offer from its link',
        tags: ['waitlist'],
        description: 'The time offered, with whom, and until when it is held. The token is the emailed link’s.',
        querystring: OfferTokenQuery,
        response: { 200: described(WaitlistOffer, 'The offer'), 404: noOffer },
      },
    },
    async (request) => waitlist.offer(request.query.token),
  );

  app.post(
    '/waitlist/offer/accept',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'acceptWaitlistOffer',
        summary: 'Take an offered time',
        tags: ['waitlist'],
        description: 'Books the time for the student who was waiting (with their friend), in one step.',
        querystring: OfferTokenQuery,
        response: { 201: described(Booking, 'The booking'), 404: noOffer, 409: gone },
      },
    },
    async (request, reply) => reply.code(201).send(await waitlist.accept(request.query.token)),
  );

  app.post(
    '/waitlist/offer/decline',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'declineWaitlistOffer',
        summary: 'Pass an offered time on',
        tags: ['waitlist'],
        querystring: OfferTokenQuery,
        response: {
          204: Type.Null({ description: 'Declined: the next student is offered it' }),
          404: noOffer,
          409: gone,
        },
      },
    },
    async (request, reply) => {
      await waitlist.decline(request.query.token);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/uptake/waitlist',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'waitlistFigures',
        summary: 'Unmet demand: the waitlist by month',
        tags: ['waitlist'],
        description:
          'By month joined, what was waited for and (groupBy) a category: how many joined, were offered a time, took one, and how many offers ran out. E.g. 41 international students waited for Law in May; 29 were offered a time; 22 took it.',
        querystring: WaitlistFiguresQuery,
        response: { 200: described(WaitlistFigures, 'Rows, by month, then what was waited for, then group') },
      },
    },
    async (request) => waitlist.figures(request.query),
  );

  app.get(
    '/waitlist/waiting',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'countWaiting',
        summary: 'How many wait, for whom',
        tags: ['waitlist'],
        response: { 200: described(WaitingCounts, 'Waiting entries by librarian, subject or team') },
      },
    },
    async () => waitlist.waitingByPool(),
  );
};
