import { sql } from 'drizzle-orm';
import { check, date, integer, pgTable, primaryKey, smallint, text, unique, uuid } from 'drizzle-orm/pg-core';
import { bookings, companions } from './bookings.js';
import { createdAt, instant } from './columns.js';

// Terms, cohort sizes and feedback: what the figures are made of.

/** Named periods (e.g. "Autumn 2026"), for uptake by term and cohort denominators. */
export const terms = pgTable(
  'terms',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique(),
    startsOn: date('starts_on', { mode: 'string' }).notNull(),
    endsOn: date('ends_on', { mode: 'string' }).notNull(),
  },
  (t) => [check('terms_range_check', sql`${t.endsOn} >= ${t.startsOn}`)],
);

/** Enrolled students per term and category value: the denominators of uptake rates. */
export const cohorts = pgTable(
  'cohorts',
  {
    termId: uuid('term_id')
      .notNull()
      .references(() => terms.id, { onDelete: 'cascade' }),
    dimension: text('dimension').notNull(),
    value: text('value').notNull(),
    size: integer('size').notNull(),
  },
  (t) => [primaryKey({ columns: [t.termId, t.dimension, t.value] }), check('cohorts_size_check', sql`${t.size} >= 0`)],
);

/**
 * One feedback link per person per session (student, or one companion): only the SHA-256 of its
 * random token is kept, with its expiry. Created when the feedback email is first attempted.
 */
export const feedbackRequests = pgTable(
  'feedback_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    bookingId: uuid('booking_id')
      .notNull()
      .references(() => bookings.id, { onDelete: 'cascade' }),
    respondent: text('respondent', { enum: ['student', 'companion'] }).notNull(),
    companionId: uuid('companion_id').references(() => companions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').unique(),
    expiresAt: instant('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('feedback_requests_person_key').on(t.bookingId, t.respondent, t.companionId).nullsNotDistinct(),
    check('feedback_requests_respondent_check', sql`${t.respondent} in ('student', 'companion')`),
    check('feedback_requests_companion_check', sql`(${t.respondent} = 'companion') = (${t.companionId} is not null)`),
  ],
);

/** One answer per feedback request, replaced when the person edits it. */
export const feedbackResponses = pgTable(
  'feedback_responses',
  {
    requestId: uuid('request_id')
      .primaryKey()
      .references(() => feedbackRequests.id, { onDelete: 'cascade' }),
    /** 1 (not at all) to 5 (very): how nervous they felt before the session. */
    nervous: smallint('nervous'),
    /** 1 (not at all) to 5 (very): how useful it was. */
    useful: smallint('useful'),
    /** Students only: 1 (not at all) to 5 (very): how nervous they feel now about a session like this. */
    nervesNow: smallint('nerves_now'),
    /** Companions only: would they book a session for themselves. */
    bookMyself: text('book_myself', { enum: ['yes', 'maybe', 'no'] }),
    /** Seen by the booking's librarian and admins only; removed by retention. */
    comment: text('comment'),
    submittedAt: instant('submitted_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    check('feedback_responses_nervous_check', sql`${t.nervous} between 1 and 5`),
    check('feedback_responses_useful_check', sql`${t.useful} between 1 and 5`),
    check('feedback_responses_nerves_now_check', sql`${t.nervesNow} between 1 and 5`),
    check('feedback_responses_book_myself_check', sql`${t.bookMyself} in ('yes', 'maybe', 'no')`),
    check('feedback_responses_comment_check', sql`char_length(${t.comment}) <= 1000`),
  ],
);
