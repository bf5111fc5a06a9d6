import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described, IdParams } from '../../http/formats.js';
import { assertCanManageLibrarian } from '../../plugins/auth.js';
import { problemResponse } from '../../plugins/errors.js';
import {
  CalendarConnection,
  CalendarConnectionInput,
  CalendarConnectionList,
  CalendarConnectionOverview,
  CalendarConnectionParams,
  CalendarConnectionPatch,
} from './schemas.js';
import type { CalendarConnections } from './service.js';

const notFound = problemResponse('No such librarian or calendar connection');
const staff = { access: ['librarian', 'admin'] as const };

export const calendarConnectionRoutes: FastifyPluginAsyncTypebox<{ calendars: CalendarConnections }> = async (
  app,
  { calendars },
) => {
  app.get(
    '/librarians/:id/calendars',
    {
      config: staff,
      schema: {
        operationId: 'listCalendarConnections',
        summary: "List a librarian's own calendars",
        tags: ['calendars'],
        description:
          'The calendars read for busy time, with when each was last read and why a read failed. The librarian themselves, or an admin.',
        params: IdParams,
        response: { 200: described(CalendarConnectionList, 'Their calendars'), 404: notFound },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return calendars.list(request.params.id);
    },
  );

  app.post(
    '/librarians/:id/calendars',
    {
      config: staff,
      schema: {
        operationId: 'createCalendarConnection',
        summary: 'Connect a calendar',
        tags: ['calendars'],
        description:
          'A calendar address (kind ics) or a CalDAV account (kind caldav: its calendars are found from the server address, all counting as busy until PATCH chooses, none receiving bookings). It is read once first (nothing is saved when it cannot be read: a 422 names the field and why), then kept sealed and read every CALENDAR_SYNC_MINUTES. 409 calendar_secret_key_missing when the server has no CALENDAR_SECRET_KEY.',
        params: IdParams,
        body: CalendarConnectionInput,
        response: {
          201: described(CalendarConnection, 'Connected and read'),
          404: notFound,
          409: problemResponse('The server has no CALENDAR_SECRET_KEY'),
          422: problemResponse('The address is refused or could not be read, or the librarian has 5 already'),
        },
      },
    },
    async (request, reply) => {
      assertCanManageLibrarian(request.user, request.params.id);
      const created = await calendars.create(request.user!, request.params.id, request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/librarians/:id/calendars/:connectionId',
    {
      config: staff,
      schema: {
        operationId: 'getCalendarConnection',
        summary: "Read a calendar connection's state",
        tags: ['calendars'],
        params: CalendarConnectionParams,
        response: { 200: described(CalendarConnection, 'The connection (never its address)'), 404: notFound },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return calendars.get(request.params.id, request.params.connectionId);
    },
  );

  app.patch(
    '/librarians/:id/calendars/:connectionId',
    {
      config: staff,
      schema: {
        operationId: 'updateCalendarConnection',
        summary: 'Change a calendar connection',
        tags: ['calendars'],
        description:
          'A new label; a new address or account details (read once first, as when connecting); for CalDAV, which calendars count as busy and which receives bookings.',
        params: CalendarConnectionParams,
        body: CalendarConnectionPatch,
        response: {
          200: described(CalendarConnection, 'The connection'),
          404: notFound,
          409: problemResponse('The server has no CALENDAR_SECRET_KEY'),
          422: problemResponse('The new address is refused or could not be read'),
        },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return calendars.change(request.user!, request.params.id, request.params.connectionId, request.body);
    },
  );

  app.delete(
    '/librarians/:id/calendars/:connectionId',
    {
      config: staff,
      schema: {
        operationId: 'deleteCalendarConnection',
        summary: 'Disconnect a calendar',
        tags: ['calendars'],
        description: 'Removes it, its sealed address and the busy time read from it.',
        params: CalendarConnectionParams,
        response: { 204: { description: 'Removed', type: 'null' }, 404: notFound },
      },
    },
    async (request, reply) => {
      assertCanManageLibrarian(request.user, request.params.id);
      await calendars.remove(request.user!, request.params.id, request.params.connectionId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/librarians/:id/calendars/:connectionId/check',
    {
      config: staff,
      schema: {
        operationId: 'checkCalendarConnection',
        summary: 'Read a calendar now',
        tags: ['calendars'],
        description: 'Reads it at once (unless it is being read this moment) and gives its state after.',
        params: CalendarConnectionParams,
        response: { 200: described(CalendarConnection, 'The state after the read'), 404: notFound },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return calendars.checkNow(request.params.id, request.params.connectionId);
    },
  );

  app.get(
    '/calendars',
    {
      config: { access: ['admin'] as const },
      schema: {
        operationId: 'listAllCalendarConnections',
        summary: "Every librarian's calendars and their state",
        tags: ['calendars'],
        description: 'For admins: which calendars are failing, and whose times are withheld.',
        response: { 200: described(CalendarConnectionOverview, 'Every connection') },
      },
    },
    async () => calendars.listAll(),
  );
};
