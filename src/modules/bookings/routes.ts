import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { described, IdParams } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import type { Caller } from './access.js';
import type { CompanionService } from './companions.js';
import {
  Attendance,
  Booking,
  BookingEventList,
  BookingList,
  BookingQuery,
  CancelBooking,
  CreateBooking,
  IdempotencyHeaders,
  PutCompanion,
  RecordSession,
  RemoveCompanionQuery,
  RescheduleBooking,
  TokenQuery,
} from './schemas.js';
import type { BookingService } from './service.js';

const notFound = problemResponse('No such booking, or not yours to see');

function caller(request: FastifyRequest): Caller {
  return { user: request.user, manageToken: request.manageToken };
}

export const bookingRoutes: FastifyPluginAsyncTypebox<{
  bookings: BookingService;
  companions: CompanionService;
  rateLimit: Config['rateLimit'];
}> = async (app, { bookings, companions, rateLimit }) => {
  // Per signed-in student, so one shared campus IP does not throttle everyone; per booking for
  // manage links (all links of a booking share one budget, however many were issued); per IP for
  // a token that opens nothing.
  const writeLimit = {
    max: rateLimit.bookingWritesPerMinute,
    timeWindow: '1 minute',
    hook: 'preHandler' as const,
    keyGenerator: async (request: FastifyRequest) => {
      if (request.user) return `booking-write:user:${request.user.sub}`;
      const bookingId = request.manageToken ? await bookings.linkedBookingId(request.manageToken) : null;
      return bookingId ? `booking-write:booking:${bookingId}` : `booking-write:ip:${request.ip}`;
    },
  };

  app.post(
    '/bookings',
    {
      config: { access: ['student'], rateLimit: writeLimit },
      schema: {
        operationId: 'createBooking',
        summary: 'Book a session',
        tags: ['bookings'],
        description:
          'Book one of the offered slots, optionally with a companion. Honours Idempotency-Key. The response carries the manage links, once.',
        headers: IdempotencyHeaders,
        body: CreateBooking,
        response: {
          201: described(Booking, 'The booking, with its manage links'),
          404: problemResponse('No such librarian'),
          409: problemResponse(
            'The slot is taken (slot_unavailable), or you already have a session then (overlapping_booking)',
          ),
          422: problemResponse(
            'Not an offered slot (outside_availability), too many companions (too_many_companions), booking_limit_reached, invalid_category, mode_unavailable or idempotency_key_reused',
          ),
        },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { booking, replayed } = await bookings.create(
        request.user!,
        request.body,
        key ? { idempotencyKey: key } : {},
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(booking);
    },
  );

  app.get(
    '/bookings',
    {
      config: { access: ['student', 'librarian', 'admin'] },
      schema: {
        operationId: 'listBookings',
        summary: 'List bookings',
        tags: ['bookings'],
        description:
          'Bookings the caller may see (a student their own, a librarian theirs, an admin all), earliest first, paged with limit/offset.',
        querystring: BookingQuery,
        response: { 200: described(BookingList, 'One page of bookings and the total') },
      },
    },
    async (request) => bookings.list(request.user!, request.query),
  );

  app.get(
    '/bookings/:id',
    {
      config: { access: ['student', 'librarian', 'admin'], manageToken: true },
      schema: {
        operationId: 'getBooking',
        summary: 'Get a booking',
        tags: ['bookings'],
        description: 'One booking: to its student, its librarian, an admin, or with a manage link.',
        params: IdParams,
        querystring: TokenQuery,
        response: { 200: described(Booking, 'The booking'), 404: notFound },
      },
    },
    async (request) => bookings.get(request.params.id, caller(request)),
  );

  app.post(
    '/bookings/:id/cancel',
    {
      config: { access: ['student', 'librarian', 'admin'], manageToken: true, rateLimit: writeLimit },
      // The body is optional: an empty POST cancels without a reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'cancelBooking',
        summary: 'Cancel a booking',
        tags: ['bookings'],
        description:
          'Cancel a session that has not started; under 24 hours before it, it counts as a late cancellation.',
        params: IdParams,
        querystring: TokenQuery,
        body: CancelBooking,
        response: {
          200: described(Booking, 'The cancelled booking'),
          404: notFound,
          409: problemResponse('Already cancelled (booking_cancelled)'),
          422: problemResponse('The session has started (session_started)'),
        },
      },
    },
    async (request) => bookings.cancel(request.params.id, caller(request), request.body),
  );

  app.post(
    '/bookings/:id/reschedule',
    {
      config: { access: ['student', 'librarian', 'admin'], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'rescheduleBooking',
        summary: 'Move a booking',
        tags: ['bookings'],
        description:
          'Move a booking to another offered slot in one step: the new slot is taken and the old released together, or nothing changes.',
        params: IdParams,
        querystring: TokenQuery,
        body: RescheduleBooking,
        response: {
          200: described(Booking, 'The booking at its new time (sequence increased)'),
          404: notFound,
          409: problemResponse('The new slot is taken, or the booking is cancelled'),
          422: problemResponse('Not an offered slot, the same slot, or the session has started'),
        },
      },
    },
    async (request) => bookings.reschedule(request.params.id, caller(request), request.body),
  );

  app.put(
    '/bookings/:id/companion',
    {
      config: { access: ['student'], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'putCompanion',
        summary: 'Add or update a companion',
        tags: ['bookings'],
        description:
          'Add a companion, or update the one with the same email (or name, without email), or the one companionId names, until the session starts. A new companion gets their own link.',
        params: IdParams,
        querystring: TokenQuery,
        body: PutCompanion,
        response: {
          200: described(Booking, 'The booking with its companions'),
          404: notFound,
          409: problemResponse('The booking is cancelled'),
          422: problemResponse('Too many companions, an unknown category, or the session has started'),
        },
      },
    },
    async (request) => companions.putCompanion(request.params.id, caller(request), request.body),
  );

  app.delete(
    '/bookings/:id/companion',
    {
      config: { access: ['student'], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'removeCompanion',
        summary: 'Remove a companion',
        tags: ['bookings'],
        description:
          'Remove the companion (or one, by companionId) until the session starts; their link stops working.',
        params: IdParams,
        querystring: RemoveCompanionQuery,
        response: {
          200: described(Booking, 'The booking with its companions'),
          404: problemResponse('No such booking, or no such active companion'),
          409: problemResponse('The booking is cancelled'),
          422: problemResponse('The session has started'),
        },
      },
    },
    async (request) => companions.removeCompanion(request.params.id, caller(request), request.query.companionId),
  );

  app.post(
    '/bookings/:id/companion/decline',
    {
      config: { access: [], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'declineAsCompanion',
        summary: 'Decline as a companion',
        tags: ['bookings'],
        description: "The companion declines through their own link (the companion's manage token).",
        params: IdParams,
        querystring: TokenQuery,
        response: {
          200: described(Booking, 'The booking as the companion sees it'),
          404: notFound,
          409: problemResponse('The invitation is no longer open'),
          422: problemResponse('The session has started'),
        },
      },
    },
    async (request) => companions.declineAsCompanion(request.params.id, caller(request)),
  );

  app.post(
    '/bookings/:id/companion/confirm',
    {
      config: { access: [], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'confirmAsCompanion',
        summary: 'Confirm as a companion (“I’ll come”)',
        tags: ['bookings'],
        description:
          "An invited companion says they will come, through their own link (the companion's manage token), until the session starts. The student and the librarian are told; the companion shows as confirmed.",
        params: IdParams,
        querystring: TokenQuery,
        response: {
          200: described(Booking, 'The booking as the companion sees it'),
          404: notFound,
          409: problemResponse(
            'The companion is not invited (any more), has already confirmed, or the booking is cancelled',
          ),
          422: problemResponse('The session has started'),
        },
      },
    },
    async (request) => companions.confirmAsCompanion(request.params.id, caller(request)),
  );

  app.post(
    '/bookings/:id/companion/rejoin',
    {
      config: { access: [], manageToken: true, rateLimit: writeLimit },
      schema: {
        operationId: 'rejoinAsCompanion',
        summary: 'Undo a companion’s decline',
        tags: ['bookings'],
        description:
          "A companion who declined says they can come after all, through their own link (the companion's manage token), until the session starts. The student and the librarian are told.",
        params: IdParams,
        querystring: TokenQuery,
        response: {
          200: described(Booking, 'The booking as the companion sees it'),
          404: notFound,
          409: problemResponse('The companion had not declined, or the booking is cancelled'),
          422: problemResponse('The session has started, or the booking has no room for another companion'),
        },
      },
    },
    async (request) => companions.rejoinAsCompanion(request.params.id, caller(request)),
  );

  app.post(
    '/bookings/:id/attendance',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'recordAttendance',
        summary: 'Record attendance',
        tags: ['bookings'],
        description: 'Record (or correct) whether the student and the companion came, once the session has started.',
        params: IdParams,
        body: Attendance,
        response: {
          200: described(Booking, 'The booking with its attendance'),
          404: notFound,
          409: problemResponse('The booking is cancelled'),
          422: problemResponse('The session has not started, or there is no companion'),
        },
      },
    },
    async (request) => bookings.recordAttendance(request.params.id, caller(request), request.body),
  );

  app.get(
    '/bookings/:id/events',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'listBookingEvents',
        summary: "A booking's audit trail",
        tags: ['bookings'],
        description: "A booking's audit trail: who changed what, when, with the booking before and after.",
        params: IdParams,
        response: { 200: described(BookingEventList, 'Events, oldest first'), 404: notFound },
      },
    },
    async (request) => ({ events: await bookings.events(request.params.id, caller(request)) }),
  );

  app.post(
    '/sessions/record',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'recordSession',
        summary: 'Record a walk-in session',
        tags: ['bookings'],
        description:
          'Record a consultation not booked here (walk-in, phone) so the figures include it. It is marked recorded and never occupies availability.',
        body: RecordSession,
        response: {
          201: described(Booking, 'The recorded session'),
          404: problemResponse('No such librarian'),
          422: problemResponse('In the future, no librarian given, or an unknown category'),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await bookings.recordSession(request.user!, request.body)),
  );
};
