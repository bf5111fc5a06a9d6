import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Uuid } from '../../http/formats.js';
import { feedbackCsv, nervesCsv } from './csv.js';
import { BookingFeedback, FeedbackQuery, FeedbackReport, NervesReport } from './schemas.js';
import type { FeedbackService } from './service.js';

export const feedbackRoutes: FastifyPluginAsyncTypebox<{ feedback: FeedbackService }> = async (app, { feedback }) => {
  app.get(
    '/uptake/nerves',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getNervesFigures',
        summary: 'Did nerves fall? Before and after',
        tags: ['uptake'],
        description:
          "For students who answered both (when booking, 'how do you feel about this session?', and in the feedback after, 'how nervous do you feel now about a session like this?', 1 not at all nervous to 5 very): per value of one category, with and without a friend, the mean before and after, the mean change (after − before, below 0: nerves fell) with a 95% Student's t interval, and the share whose nerves fell with a Wilson interval. JSON, or CSV with format=csv or Accept: text/csv.",
        querystring: FeedbackQuery,
        response: {
          200: {
            description: 'One row per category value, and the totals',
            content: {
              'application/json': { schema: NervesReport },
              'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await feedback.nerves(request.query);
      const csv =
        request.query.format === 'csv' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/csv'));
      if (csv) return reply.type('text/csv; charset=utf-8').send(nervesCsv(report, studentCounts));
      return report;
    },
  );

  app.get(
    '/uptake/feedback',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getFeedbackFigures',
        summary: 'After-session feedback figures',
        tags: ['uptake'],
        description:
          "How sessions felt, per value of one category, for students with and without a friend and for the friends: feedback emails sent, responses, and for 'how nervous before' and 'how useful' (1–5) the distribution, mean and share answering 4–5 with a Wilson interval; the with-minus-without difference of those shares with Newcombe's interval; and the share of friends who would book for themselves. Aggregates only: comments are never included. JSON, or CSV with format=csv or Accept: text/csv.",
        querystring: FeedbackQuery,
        response: {
          200: {
            description: 'One row per category value',
            content: {
              'application/json': { schema: FeedbackReport },
              'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await feedback.figures(request.query);
      const csv =
        request.query.format === 'csv' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/csv'));
      if (csv) return reply.type('text/csv; charset=utf-8').send(feedbackCsv(report, studentCounts));
      return report;
    },
  );

  app.get(
    '/bookings/:id/feedback',
    {
      config: { access: ['librarian', 'admin'] },
      schema: {
        operationId: 'getBookingFeedback',
        summary: "A session's feedback, with comments",
        tags: ['bookings'],
        description:
          "What the student and each friend answered after the session, comments included: for the booking's own librarian and admins only (anyone else gets 404).",
        params: Type.Object({ id: Uuid('The booking') }),
        response: {
          200: { description: 'The responses', content: { 'application/json': { schema: BookingFeedback } } },
        },
      },
    },
    async (request) => ({
      feedback: await feedback.forBooking(request.user as NonNullable<typeof request.user>, request.params.id),
    }),
  );
};
