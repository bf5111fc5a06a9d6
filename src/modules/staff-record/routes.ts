import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { IsoDate, Nullable } from '../../http/formats.js';
import { localDaysToInstants } from '../../time/zone.js';
import { toCsv } from '../uptake/csv.js';
import { badQuery } from '../uptake/filters.js';
import { STAFF_ACTIONS, type StaffRecord } from './service.js';

const StaffRecordQuery = Type.Object(
  {
    from: IsoDate('First day (inclusive), in LIBRARY_TIME_ZONE'),
    to: IsoDate('Last day (inclusive)'),
    actor: Type.Optional(Type.String({ maxLength: 254, description: 'Only this person (their email), any case' })),
    action: Type.Optional(Type.Enum([...STAFF_ACTIONS], { description: 'Only this action' })),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
  },
  { additionalProperties: false },
);

const StaffRecordReport = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Type.String({ format: 'date-time' }),
      actor: Type.String(),
      action: Type.String({ description: 'One of the actions the query accepts' }),
      subject: Nullable(Type.String()),
      before: Type.Unknown(),
      after: Type.Unknown(),
    }),
    { maxItems: 5000 },
  ),
});

const MAX_ENTRIES = 5000;

export const staffRecordRoutes: FastifyPluginAsyncTypebox<{
  staffRecord: StaffRecord;
  config: { libraryTimeZone: string };
}> = async (app, { staffRecord, config }) => {
  app.get(
    '/staff-record',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'listStaffActions',
        summary: 'The record of staff actions',
        tags: ['people'],
        description:
          "Who did what, when, to what, with the values that changed before and after (never secrets, never a student's name or address), oldest first, at most 5000 entries: availability, time off and closures, attendance and its corrections, sessions recorded, bookings staff moved or cancelled, librarians, categories, terms and cohorts, imports, webhooks, email retries, and the exports and erasures of a person's data. Kept STAFF_RECORD_MONTHS. JSON, or CSV with format=csv or Accept: text/csv.",
        querystring: StaffRecordQuery,
        response: {
          200: {
            description: 'The entries',
            content: {
              'application/json': { schema: StaffRecordReport },
              'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      if (query.to < query.from) throw badQuery('/to', 'must be on or after from');
      const { fromMs, toMs } = localDaysToInstants(query.from, query.to, config.libraryTimeZone);
      const entries = await staffRecord.list({
        from: new Date(fromMs),
        to: new Date(toMs),
        actor: query.actor,
        action: query.action,
        limit: MAX_ENTRIES,
      });
      const csv =
        query.format === 'csv' || (query.format !== 'json' && (request.headers.accept ?? '').includes('text/csv'));
      if (csv) {
        return reply.type('text/csv; charset=utf-8').send(
          toCsv(
            ['at', 'actor', 'action', 'subject', 'before', 'after'],
            entries.map((entry) => [
              entry.at,
              entry.actor,
              entry.action,
              entry.subject,
              entry.before === null ? null : JSON.stringify(entry.before),
              entry.after === null ? null : JSON.stringify(entry.after),
            ]),
          ),
        );
      }
      return { entries };
    },
  );
};
