import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { described, IdParams } from '../../http/formats.js';
import { assertCanManageLibrarian } from '../../plugins/auth.js';
import { problemResponse } from '../../plugins/errors.js';
import { TokenQuery } from '../bookings/schemas.js';
import type { CalendarService } from './service.js';

const ICalendar = Type.String({ description: 'text/calendar (RFC 5545)' });
const FeedQuery = Type.Object(
  { token: Type.String({ minLength: 20, maxLength: 100, description: 'The secret from the feed URL' }) },
  { additionalProperties: false },
);

export const calendarRoutes: FastifyPluginAsyncTypebox<{ calendar: CalendarService }> = async (app, { calendar }) => {
  app.get(
    '/bookings/:id/calendar.ics',
    {
      config: { access: ['student', 'librarian', 'admin'], manageToken: true },
      schema: {
        operationId: 'getBookingCalendar',
        summary: "Download a booking's invite",
        tags: ['calendar'],
        description: "A booking's calendar invite (METHOD:CANCEL once cancelled).",
        params: IdParams,
        querystring: TokenQuery,
        produces: ['text/calendar'],
        response: {
          200: { description: 'The invite', content: { 'text/calendar': { schema: ICalendar } } },
          404: problemResponse('No such booking, or not yours to see'),
        },
      },
    },
    async (request, reply) => {
      const ics = await calendar.bookingInvite(request.params.id, {
        user: request.user,
        manageToken: request.manageToken,
      });
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', 'attachment; filename="library-session.ics"')
        .send(ics);
    },
  );

  app.get(
    '/librarians/:id/calendar.ics',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getLibrarianCalendarFeed',
        summary: "A librarian's calendar feed",
        tags: ['calendar'],
        description:
          "A librarian's sessions (last 30 days and ahead) as a feed for Outlook or Google 'subscribe from URL'. The secret token is the access.",
        params: IdParams,
        querystring: FeedQuery,
        response: {
          200: { description: 'The feed', content: { 'text/calendar': { schema: ICalendar } } },
          404: problemResponse('Unknown librarian, or a wrong or rotated token'),
        },
      },
    },
    async (request, reply) =>
      reply
        .type('text/calendar; charset=utf-8')
        .send(await calendar.librarianFeed(request.params.id, request.query.token)),
  );

  app.post(
    '/librarians/:id/calendar-token',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'rotateLibrarianCalendarToken',
        summary: 'Replace the calendar feed URL',
        tags: ['calendar'],
        description: 'Issue a new secret feed URL; the old URL stops working at once.',
        params: IdParams,
        response: {
          200: described(Type.Object({ url: Type.String() }), 'The new feed URL (shown once)'),
          404: problemResponse('No such librarian'),
        },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return calendar.rotateFeedToken(request.params.id);
    },
  );
};
