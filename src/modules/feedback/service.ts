import { and, desc, eq, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import { bookings, companions, feedbackRequests, feedbackResponses, librarians } from '../../db/schema.js';
import { InvalidInput, NotFound } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import type { CategoryService } from '../categories/service.js';
import { hashManageToken } from '../links/tokens.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from '../uptake/disclosure.js';
import { bookingFilters } from '../uptake/filters.js';
import { COMPANION_BOOKINGS } from '../uptake/service.js';
import { newcombeInterval, rate, wilsonInterval } from '../uptake/statistics.js';
import { createNervesFigures } from './nerves.js';
import type { FeedbackAnswers, FeedbackGroup, FeedbackQuery, FeedbackReport, FeedbackScale } from './schemas.js';

export const COMMENT_MAX = 1000;

/** What a feedback link opens: the session it is about, and the answers given so far. */
export interface FeedbackForm {
  requestId: string;
  respondent: 'student' | 'companion';
  librarianName: string;
  startMs: number;
  endMs: number;
  libraryTimeZone: string;
  expiresMs: number;
  answers: FeedbackAnswers | null;
}

export type FeedbackLink = { state: 'open'; form: FeedbackForm } | { state: 'unknown' } | { state: 'expired' };

type Counts = Record<string, number>;

/** Checks answers as given; every problem is named by its field, and nothing is stored on any. */
export function checkAnswers(answers: FeedbackAnswers, respondent: 'student' | 'companion'): FeedbackAnswers {
  const errors: { pointer: string; in: 'body'; message: string }[] = [];
  for (const field of ['nervous', 'useful', 'nervesNow'] as const) {
    const value = answers[field];
    if (value !== null && !(Number.isInteger(value) && value >= 1 && value <= 5)) {
      errors.push({ pointer: `/${field}`, in: 'body', message: 'must be a whole number from 1 to 5, or left blank' });
    }
  }
  if (answers.comment !== null && [...answers.comment].length > COMMENT_MAX) {
    errors.push({ pointer: '/comment', in: 'body', message: `must be at most ${COMMENT_MAX} characters` });
  }
  if (answers.nervesNow !== null && respondent !== 'student') {
    errors.push({ pointer: '/nervesNow', in: 'body', message: 'is asked of students only' });
  }
  if (answers.bookMyself !== null) {
    if (respondent !== 'companion') {
      errors.push({ pointer: '/bookMyself', in: 'body', message: 'is asked of friends only' });
    } else if (!['yes', 'maybe', 'no'].includes(answers.bookMyself)) {
      errors.push({ pointer: '/bookMyself', in: 'body', message: 'must be yes, maybe or no, or left blank' });
    }
  }
  if (errors.length > 0) {
    throw new InvalidInput(`${errors.map((error) => error.pointer.slice(1)).join(', ')}: not a valid answer.`, errors);
  }
  const comment = answers.comment?.trim() ?? '';
  return { ...answers, comment: comment === '' ? null : comment };
}

function scale(counts: Counts, prefix: string, hesa: boolean): FeedbackScale {
  const distribution = [1, 2, 3, 4, 5].map((point) => counts[`${prefix}${point}`] ?? 0);
  const answered = distribution.reduce((sum, count) => sum + count, 0);
  const high = (distribution[3] ?? 0) + (distribution[4] ?? 0);
  const total = distribution.reduce((sum, count, index) => sum + count * (index + 1), 0);
  const show = answered > 0 && (!hesa || answered >= HESA_MIN_DENOMINATOR);
  return {
    answered: hesa ? roundHesa(answered) : answered,
    mean: show ? total / answered : null,
    distribution: hesa ? distribution.map(roundHesa) : distribution,
    highShare: show ? rate(high, answered) : null,
    highShareCi95: show ? wilsonInterval(high, answered) : null,
  };
}

function group(counts: Counts, hesa: boolean): FeedbackGroup {
  const requests = counts.requests ?? 0;
  const responses = counts.responses ?? 0;
  const showRate = requests > 0 && (!hesa || requests >= HESA_MIN_DENOMINATOR);
  return {
    requests: hesa ? roundHesa(requests) : requests,
    responses: hesa ? roundHesa(responses) : responses,
    responseRate: showRate ? rate(responses, requests) : null,
    nervous: scale(counts, 'n', hesa),
    useful: scale(counts, 'u', hesa),
  };
}

/** The difference in the share answering 4–5 (with minus without a friend), with Newcombe's interval. */
function highDifference(withCounts: Counts, withoutCounts: Counts, prefix: string, hesa: boolean) {
  const high = (counts: Counts) => (counts[`${prefix}4`] ?? 0) + (counts[`${prefix}5`] ?? 0);
  const answered = (counts: Counts) =>
    [1, 2, 3, 4, 5].reduce((sum, point) => sum + (counts[`${prefix}${point}`] ?? 0), 0);
  const n1 = answered(withCounts);
  const n2 = answered(withoutCounts);
  if (n1 === 0 || n2 === 0 || (hesa && (n1 < HESA_MIN_DENOMINATOR || n2 < HESA_MIN_DENOMINATOR))) {
    return { difference: null, ci95: null };
  }
  return {
    difference: high(withCounts) / n1 - high(withoutCounts) / n2,
    ci95: newcombeInterval(high(withCounts), n1, high(withoutCounts), n2),
  };
}

/** What the feedback service reads and writes with. */
export interface FeedbackDeps {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone'>;
  categories: CategoryService;
}

export function createFeedbackService(deps: FeedbackDeps) {
  const { db, clock } = deps;
  const nerves = createNervesFigures(deps);

  async function findRequest(token: string) {
    const [row] = await db
      .select({ request: feedbackRequests, booking: bookings, librarian: librarians })
      .from(feedbackRequests)
      .innerJoin(bookings, eq(bookings.id, feedbackRequests.bookingId))
      .innerJoin(librarians, eq(librarians.id, bookings.librarianId))
      .where(eq(feedbackRequests.tokenHash, hashManageToken(token)));
    return row ?? null;
  }

  return {
    nerves,

    /** What a link opens; an unknown or expired link says which, never more. */
    async open(token: string): Promise<FeedbackLink> {
      if (!token || token.length > 200) return { state: 'unknown' };
      const row = await findRequest(token);
      if (!row) return { state: 'unknown' };
      if (row.request.expiresAt.getTime() <= clock.now().getTime()) return { state: 'expired' };
      const [answer] = await db.select().from(feedbackResponses).where(eq(feedbackResponses.requestId, row.request.id));
      return {
        state: 'open',
        form: {
          requestId: row.request.id,
          respondent: row.request.respondent,
          librarianName: row.librarian.name,
          startMs: row.booking.startsAt.getTime(),
          endMs: row.booking.endsAt.getTime(),
          libraryTimeZone: row.librarian.timeZone,
          expiresMs: row.request.expiresAt.getTime(),
          answers: answer
            ? {
                nervous: answer.nervous,
                useful: answer.useful,
                nervesNow: answer.nervesNow,
                comment: answer.comment,
                bookMyself: answer.bookMyself,
              }
            : null,
        },
      };
    },

    /**
     * Stores the person's answers, replacing earlier ones (one response per person). Throws
     * InvalidInput naming each bad field; an unknown or expired link stores nothing.
     */
    async submit(token: string, input: FeedbackAnswers): Promise<FeedbackLink> {
      const link = await this.open(token);
      if (link.state !== 'open') return link;
      const answers = checkAnswers(input, link.form.respondent);
      const now = clock.now();
      await db
        .insert(feedbackResponses)
        .values({ requestId: link.form.requestId, ...answers, submittedAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: feedbackResponses.requestId, set: { ...answers, updatedAt: now } });
      return { state: 'open', form: { ...link.form, answers } };
    },

    /** A booking's feedback with comments: for its librarian and admins only (others: 404). */
    async forBooking(user: AuthUser, bookingId: string) {
      const [booking] = await db.select().from(bookings).where(eq(bookings.id, bookingId));
      const allowed =
        booking && (user.roles.includes('admin') || (user.librarianId && user.librarianId === booking.librarianId));
      if (!booking || !allowed) throw new NotFound('No such booking.');
      const rows = await db
        .select({ request: feedbackRequests, response: feedbackResponses, companionName: companions.name })
        .from(feedbackRequests)
        .innerJoin(feedbackResponses, eq(feedbackResponses.requestId, feedbackRequests.id))
        .leftJoin(companions, eq(companions.id, feedbackRequests.companionId))
        .where(eq(feedbackRequests.bookingId, bookingId))
        // The student first, then each friend.
        .orderBy(desc(feedbackRequests.respondent), feedbackRequests.createdAt);
      return rows.map((row) => ({
        respondent: row.request.respondent,
        companionName: row.companionName,
        nervous: row.response.nervous,
        useful: row.response.useful,
        nervesNow: row.response.nervesNow,
        bookMyself: row.response.bookMyself,
        comment: row.response.comment,
        updatedAt: row.response.updatedAt.toISOString(),
      }));
    },

    /**
     * Feedback figures per value of one category and with or without a friend: requests, responses,
     * each scale's distribution, mean and share answering 4–5 (Wilson interval), the difference
     * between with and without (Newcombe), and for friends, whether they would book themselves.
     * Aggregates only; comments never leave here.
     */
    async figures(query: FeedbackQuery): Promise<FeedbackReport & { studentCounts: number[] }> {
      const definitions = await deps.categories.listDimensions();
      const dimension = definitions.find((candidate) => candidate.key === query.by);
      if (!dimension) {
        throw new InvalidInput(`by must be one of ${definitions.map((d) => d.key).join(', ')}.`, [
          { pointer: '/by', in: 'query', message: `must be one of ${definitions.map((d) => d.key).join(', ')}` },
        ]);
      }
      const hesa = query.disclosure === 'hesa';
      const { conditions } = bookingFilters(query, definitions, deps.config.libraryTimeZone);
      const points = (column: string, prefix: string) =>
        [1, 2, 3, 4, 5].map(
          (point) =>
            sql`count(*) filter (where r.${sql.raw(column)} = ${point})::int as ${sql.identifier(`${prefix}${point}`)}`,
        );
      const counted = await rowsOf<Counts & { value: string | null; respondent: string; with_companion: boolean }>(
        db,
        sql`
        with companion_bookings as (${COMPANION_BOOKINGS})
        select b.student_categories ->> ${query.by} as value,
          fr.respondent,
          (cb.booking_id is not null) as with_companion,
          count(*)::int as requests,
          count(r.request_id)::int as responses,
          count(distinct b.student_ref)::int as students,
          ${sql.join([...points('nervous', 'n'), ...points('useful', 'u')], sql`, `)},
          count(*) filter (where r.book_myself = 'yes')::int as yes,
          count(*) filter (where r.book_myself = 'maybe')::int as maybe,
          count(*) filter (where r.book_myself = 'no')::int as no
        from feedback_requests fr
        join bookings b on b.id = fr.booking_id
        left join librarians l on l.id = b.librarian_id
        left join feedback_responses r on r.request_id = fr.id
        left join companion_bookings cb on cb.booking_id = b.id
        where ${and(...conditions)}
        group by 1, 2, 3`,
      );
      const knownValues = dimension.values.map((value) => value.value);
      const seen = counted.map((row) => row.value ?? null);
      const values: (string | null)[] = [
        ...knownValues,
        ...seen.filter((value) => value !== null && !knownValues.includes(value)),
      ];
      if (seen.includes(null)) values.push(null);
      const empty: Counts = {};
      const find = (value: string | null, respondent: string, withCompanion?: boolean) =>
        counted.find(
          (row) =>
            (row.value ?? null) === value &&
            row.respondent === respondent &&
            (withCompanion === undefined || row.with_companion === withCompanion),
        );
      const sumCompanions = (value: string | null): Counts => {
        const rows = counted.filter((row) => (row.value ?? null) === value && row.respondent === 'companion');
        const total: Counts = {};
        for (const row of rows) {
          for (const [key, count] of Object.entries(row))
            if (typeof count === 'number') total[key] = (total[key] ?? 0) + count;
        }
        return total;
      };
      const rows = values.map((value) => {
        const withCounts = find(value, 'student', true) ?? empty;
        const withoutCounts = find(value, 'student', false) ?? empty;
        const friendCounts = sumCompanions(value);
        const nervous = highDifference(withCounts, withoutCounts, 'n', hesa);
        const useful = highDifference(withCounts, withoutCounts, 'u', hesa);
        const yes = friendCounts.yes ?? 0;
        const said = yes + (friendCounts.maybe ?? 0) + (friendCounts.no ?? 0);
        const showYes = said > 0 && (!hesa || said >= HESA_MIN_DENOMINATOR);
        const count = (n: number) => (hesa ? roundHesa(n) : n);
        return {
          studentCount: Math.min(withCounts.students ?? 0, withoutCounts.students ?? 0),
          row: {
            value,
            withCompanion: group(withCounts, hesa),
            withoutCompanion: group(withoutCounts, hesa),
            nervousHighDifference: nervous.difference,
            nervousHighDifferenceCi95: nervous.ci95,
            usefulHighDifference: useful.difference,
            usefulHighDifferenceCi95: useful.ci95,
            companions: {
              ...group(friendCounts, hesa),
              bookMyself: {
                yes: count(yes),
                maybe: count(friendCounts.maybe ?? 0),
                no: count(friendCounts.no ?? 0),
                yesShare: showYes ? rate(yes, said) : null,
                yesShareCi95: showYes ? wilsonInterval(yes, said) : null,
              },
            },
          },
        };
      });
      return {
        from: query.from,
        to: query.to,
        by: query.by,
        disclosure: hesa ? 'hesa' : 'none',
        rows: rows.map((entry) => entry.row),
        studentCounts: rows.map((entry) => entry.studentCount),
      };
    },
  };
}

export type FeedbackService = ReturnType<typeof createFeedbackService>;
