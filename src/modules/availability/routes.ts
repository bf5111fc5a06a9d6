import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { described, IdParams } from '../../http/formats.js';
import { sendKeptJson } from '../../http/gzip.js';
import { assertCanManageLibrarian } from '../../plugins/auth.js';
import { problemResponse } from '../../plugins/errors.js';
import {
  Availability,
  ClosureParams,
  CreateClosure,
  CreateOverride,
  Override,
  OverrideList,
  OverrideParams,
  OverrideQuery,
  PutAvailability,
  SlotList,
  SlotQuery,
} from './schemas.js';
import type { AvailabilityService } from './service.js';

const noLibrarian = problemResponse('No such librarian');
const Deleted = Type.Null({ description: 'Deleted' });

export const availabilityRoutes: FastifyPluginAsyncTypebox<{ availability: AvailabilityService }> = async (
  app,
  { availability },
) => {
  app.get(
    '/librarians/:id/availability',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'getAvailability',
        summary: 'Get weekly availability',
        tags: ['availability'],
        description: "A librarian's weekly rules and booking settings (their own, or any for an admin).",
        params: IdParams,
        response: { 200: described(Availability, 'Weekly rules and settings'), 404: noLibrarian },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return availability.get(request.params.id);
    },
  );

  app.put(
    '/librarians/:id/availability',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'putAvailability',
        summary: 'Set weekly availability',
        tags: ['availability'],
        description:
          'Replace the weekly rules (wall-clock times in timeZone) and update the settings given; omitted settings keep their value.',
        params: IdParams,
        body: PutAvailability,
        response: { 200: described(Availability, 'The availability as saved'), 404: noLibrarian },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return availability.put(request.params.id, request.body, request.user!);
    },
  );

  app.get(
    '/librarians/:id/overrides',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'listOverrides',
        summary: 'List time off and extra hours',
        tags: ['availability'],
        description: "A librarian's closures and extra hours, and the library-wide closures (librarianId null).",
        params: IdParams,
        querystring: OverrideQuery,
        response: { 200: described(OverrideList, 'Overrides, earliest first'), 404: noLibrarian },
      },
    },
    async (request) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return { overrides: await availability.listOverrides(request.params.id, request.query) };
    },
  );

  app.post(
    '/librarians/:id/overrides',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'createOverride',
        summary: 'Add time off or extra hours',
        tags: ['availability'],
        description: 'Close time (leave, a meeting) or open extra hours, as whole local days or exact instants.',
        params: IdParams,
        body: CreateOverride,
        response: { 201: described(Override, 'The new override'), 404: noLibrarian },
      },
    },
    async (request, reply) => {
      assertCanManageLibrarian(request.user, request.params.id);
      return reply.code(201).send(await availability.createOverride(request.params.id, request.body, request.user!));
    },
  );

  app.delete(
    '/librarians/:id/overrides/:overrideId',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'deleteOverride',
        summary: 'Remove time off or extra hours',
        tags: ['availability'],
        description: "Remove one of a librarian's overrides.",
        params: OverrideParams,
        response: { 204: Deleted, 404: problemResponse('No such override for this librarian') },
      },
    },
    async (request, reply) => {
      assertCanManageLibrarian(request.user, request.params.id);
      await availability.deleteOverride(request.params.id, request.params.overrideId, request.user!);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/closures',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listClosures',
        summary: 'List library closures',
        tags: ['availability'],
        description: 'Library-wide closures (bank holidays, closure days), which apply to every librarian.',
        querystring: OverrideQuery,
        response: { 200: described(OverrideList, 'Library-wide closures, earliest first') },
      },
    },
    async (request) => ({ overrides: await availability.listOverrides(null, request.query) }),
  );

  app.post(
    '/closures',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'createClosure',
        summary: 'Add a library closure',
        tags: ['availability'],
        description: 'Close the whole library. Dates are whole local days in each librarian zone; instants are exact.',
        body: CreateClosure,
        response: { 201: described(Override, 'The new closure') },
      },
    },
    async (request, reply) => {
      return reply.code(201).send(await availability.createOverride(null, request.body, request.user!));
    },
  );

  app.delete(
    '/closures/:closureId',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'deleteClosure',
        summary: 'Remove a library closure',
        tags: ['availability'],
        description: 'Remove a library-wide closure.',
        params: ClosureParams,
        response: { 204: Deleted, 404: problemResponse('No such closure') },
      },
    },
    async (request, reply) => {
      await availability.deleteOverride(null, request.params.closureId, request.user!);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/librarians/:id/slots',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listSlots',
        summary: 'Bookable slots',
        tags: ['availability'],
        description:
          'Bookable slots between two dates (inclusive, at most 62 days), shown in tz. Honours weekly rules, closures, extra hours, notice, horizon, existing bookings and buffers.',
        params: IdParams,
        querystring: SlotQuery,
        response: { 200: described(SlotList, 'Bookable slots, earliest first'), 404: noLibrarian },
      },
    },
    async (request, reply) => {
      // Already JSON (kept with the cached list, gzipped once when asked for): sent as it is.
      const list = await availability.slotListJson(request.params.id, request.query);
      return sendKeptJson(request, reply, list, list.json);
    },
  );
};
