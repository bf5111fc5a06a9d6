import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { described } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { renderChart } from './chart.js';
import { type ImportService, MAX_IMPORT_SESSIONS } from './imports.js';
import { companionEffectCsv, compareCsv, friendsLaterCsv, uptakeCsv } from './render.js';
import {
  CompanionEffectQuery,
  CompanionEffectReport,
  CompareQuery,
  CompareReport,
  EffortReport,
  FriendsLaterQuery,
  FriendsLaterReport,
  UptakeQuery,
  UptakeReport,
} from './schemas.js';
import type { UptakeService } from './service.js';

const CsvText = Type.String({ description: 'RFC 4180 CSV' });
const tooManyGroups = problemResponse(
  'The groupings (with fill) would give more than 5000 groups (too_many_groups); errors name groupBy and fill',
);

function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  return format === 'csv' || (format !== 'json' && (request.headers.accept ?? '').includes('text/csv'));
}

/**
 * One past session. The schema checks the types (a wrong type is a 400 naming the field); the
 * import checks the values row by row (a real start, a known librarian, known categories), so a
 * bad value is reported with its line and left out with skipInvalid.
 */
const ImportedSession = Type.Object(
  {
    start: Type.String({
      description: 'When it started: ISO 8601 with offset',
      examples: ['2026-10-12T14:00:00+01:00'],
    }),
    minutes: Type.Integer({ description: 'Length, 1–480' }),
    librarianEmail: Type.Optional(Type.String({ description: 'A known librarian’s email; omit if unknown' })),
    studentRef: Type.String({ description: 'A pseudonymous key for the student (unique-student counts)' }),
    categories: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Category values, e.g. {"fee_status": "home"}' }),
    ),
    companion: Type.Boolean({ description: 'Whether the student brought a companion' }),
    outcome: Type.String({ description: 'attended, no_show, cancelled or late_cancelled' }),
  },
  { description: 'A past session', additionalProperties: true },
);

const ImportResult = Type.Object({
  imported: Type.Integer({ description: 'New sessions stored' }),
  skipped: Type.Integer({
    description: 'Valid sessions already imported before (same start, librarian and studentRef)',
  }),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() }), {
    description: 'Invalid sessions left out (with skipInvalid=true)',
  }),
});

export const uptakeRoutes: FastifyPluginAsyncTypebox<{ uptake: UptakeService; imports: ImportService }> = async (
  app,
  { uptake, imports },
) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 20 * 1024 * 1024 }, (_request, body, done) =>
    done(null, body),
  );

  app.get(
    '/uptake',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getUptake',
        summary: 'Uptake figures',
        tags: ['uptake'],
        description:
          'Uptake figures grouped by category, companion, librarian, faculty, mode and period. Aggregates only, never student identities. JSON, or CSV with Accept: text/csv or format=csv.',
        querystring: UptakeQuery,
        response: {
          200: {
            description: 'One row per group and the totals',
            content: { 'application/json': { schema: UptakeReport }, 'text/csv': { schema: CsvText } },
          },
          422: tooManyGroups,
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await uptake.uptake(request.query);
      if (wantsCsv(request, request.query.format)) {
        return reply.type('text/csv; charset=utf-8').send(uptakeCsv(report, studentCounts));
      }
      return report;
    },
  );

  app.get(
    '/uptake/chart.svg',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getUptakeChart',
        summary: 'Uptake chart (SVG)',
        tags: ['uptake'],
        description:
          'The uptake figures as grouped bars (standalone SVG): clusters by the first grouping, bars by companion (or the second grouping), 95% whiskers for attendance rates.',
        querystring: Type.Intersect([
          UptakeQuery,
          Type.Object({
            metric: Type.Optional(
              Type.Enum(['attendanceRate', 'bookings', 'uptakeRate'], { description: 'Default attendanceRate' }),
            ),
          }),
        ]),
        produces: ['image/svg+xml'],
        response: {
          200: {
            description: 'The chart',
            content: { 'image/svg+xml': { schema: Type.String({ description: 'SVG 1.1' }) } },
          },
          422: tooManyGroups,
        },
      },
    },
    async (request, reply) => {
      const { metric, ...query } = request.query as typeof request.query & {
        metric?: 'attendanceRate' | 'bookings' | 'uptakeRate';
      };
      const { studentCounts: _unused, ...report } = await uptake.uptake(query);
      return reply
        .type('image/svg+xml; charset=utf-8')
        .send(renderChart(report, metric ?? 'attendanceRate', { labeller: await uptake.labeller() }));
    },
  );

  app.get(
    '/uptake/companion-effect',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getCompanionEffect',
        summary: 'Companion effect on attendance',
        tags: ['uptake'],
        description:
          'For each value of one category: attendance with vs without a companion, with Wilson intervals, the difference (Newcombe hybrid score interval), a pooled two-proportion z-test and the companion share.',
        querystring: CompanionEffectQuery,
        response: {
          200: {
            description: 'One row per category value',
            content: { 'application/json': { schema: CompanionEffectReport }, 'text/csv': { schema: CsvText } },
          },
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await uptake.companionEffect(request.query);
      if (wantsCsv(request, request.query.format)) {
        return reply.type('text/csv; charset=utf-8').send(companionEffectCsv(report, studentCounts));
      }
      return report;
    },
  );

  app.get(
    '/uptake/effort',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getEffortFigures',
        summary: 'Librarian effort (READ scale) by friend',
        tags: ['uptake'],
        description:
          "Whether sessions with a friend take more or less effort: the READ scale level (1 least to 6 most) librarians record with attendance, per value of one category, with and without a friend: sessions rated, how many at each level, and the mean with a 95% Student's t interval.",
        querystring: CompanionEffectQuery,
        response: { 200: described(EffortReport, 'One row per category value, and the totals') },
      },
    },
    async (request) => {
      const { studentCounts: _counts, ...report } = await uptake.effort(request.query);
      return report;
    },
  );

  app.get(
    '/uptake/friends-later',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'getFriendsLater',
        summary: 'What the friends did next',
        tags: ['uptake'],
        description:
          "The ripple a library hopes for. Of the friends (or family, never support workers) who came to a session in the range, matched by email and each counted once from their first such session: how many later booked a session for themselves and how many came to one, with 95% Wilson intervals; by the friend's own category or the student's (of), and the students who, booking in the range, said they first came as a friend.",
        querystring: FriendsLaterQuery,
        response: {
          200: {
            description: 'One row per category value (none without by), and the totals',
            content: { 'application/json': { schema: FriendsLaterReport }, 'text/csv': { schema: CsvText } },
          },
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await uptake.friendsLater(request.query);
      if (wantsCsv(request, request.query.format)) {
        return reply.type('text/csv; charset=utf-8').send(friendsLaterCsv(report, studentCounts));
      }
      return report;
    },
  );

  app.get(
    '/uptake/compare',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'compareUptake',
        summary: 'Uptake before and after',
        tags: ['uptake'],
        description:
          "Two periods compared, per value of one category: bookings, unique students and attendees, uptake against the cohort sizes of the terms each period overlaps (the largest term's size, as students stay enrolled across terms), and the change in uptake with a 95% interval by Newcombe's hybrid score method for two independent proportions, with a pooled two-proportion z-test. The later period must start after the earlier one ends.",
        querystring: CompareQuery,
        response: {
          200: {
            description: 'One row per category value',
            content: { 'application/json': { schema: CompareReport }, 'text/csv': { schema: CsvText } },
          },
        },
      },
    },
    async (request, reply) => {
      const { studentCounts, ...report } = await uptake.compare(request.query);
      if (wantsCsv(request, request.query.format)) {
        return reply.type('text/csv; charset=utf-8').send(compareCsv(report, studentCounts));
      }
      return report;
    },
  );

  app.post(
    '/imports/sessions',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'importSessions',
        summary: 'Import past sessions',
        tags: ['uptake'],
        description:
          'Load past consultations (JSON {sessions: [...]}, or text/csv with header start,minutes,librarian_email,student_ref,companion,outcome plus one column per category). Every row is checked first; any bad row imports nothing unless skipInvalid=true. Re-imports are not double-counted.',
        querystring: Type.Object(
          { skipInvalid: Type.Optional(Type.Boolean({ description: 'Import the valid rows and report the rest' })) },
          { additionalProperties: false },
        ),
        body: Type.Union([
          Type.Object(
            { sessions: Type.Array(ImportedSession, { maxItems: MAX_IMPORT_SESSIONS }) },
            { additionalProperties: false },
          ),
          CsvText,
        ]),
        response: {
          200: described(ImportResult, 'What was imported'),
          422: problemResponse('Some rows are invalid (code import_invalid); errors lists each by line'),
        },
      },
    },
    async (request) => {
      const body = request.body;
      const options = { skipInvalid: request.query.skipInvalid === true };
      return typeof body === 'string'
        ? imports.importSessions({ csv: body }, options, request.user!)
        : imports.importSessions({ json: body.sessions }, options, request.user!);
    },
  );
};
