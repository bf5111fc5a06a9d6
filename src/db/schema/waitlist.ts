import { sql } from 'drizzle-orm';
import { boolean, date, index, jsonb, pgTable, smallint, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';
import { librarians, students } from './people.js';

export const WAITLIST_STATUSES = ['waiting', 'booked', 'left', 'ended'] as const;
export const OFFER_STATUSES = ['open', 'accepted', 'expired', 'declined', 'lost'] as const;

/**
 * A student waiting for a time: with a librarian, or any of a subject or team (`pool`, as
 * pooled bookings name it, or "librarian:<id>"), between two dates, on the days and between the
 * times they gave (the library's zone), perhaps with a friend.
 */
export const waitlistEntries = pgTable(
  'waitlist_entries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    studentId: uuid('student_id')
      .notNull()
      .references(() => students.id, { onDelete: 'cascade' }),
    pool: text('pool').notNull(),
    fromDate: date('from_date').notNull(),
    toDate: date('to_date').notNull(),
    /** ISO weekdays (1 Monday … 7 Sunday); empty: any day. */
    weekdays: smallint('weekdays').array().notNull().default(sql`'{}'::smallint[]`),
    /** HH:MM in the library's zone; null: any time. */
    earliest: text('earliest'),
    latest: text('latest'),
    companionName: text('companion_name'),
    companionEmail: text('companion_email'),
    status: text('status', { enum: WAITLIST_STATUSES }).notNull().default('waiting'),
    /** The student's categories when they joined, for the figures. */
    studentCategories: jsonb('student_categories').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull(),
    endedAt: instant('ended_at'),
  },
  (t) => [
    index('waitlist_entries_status_idx').on(t.status, t.createdAt),
    index('waitlist_entries_student_idx').on(t.studentId),
  ],
);

/**
 * A freed time offered to a waiting student. A held offer keeps the time from everyone else until
 * `expiresAt` (the slot read counts it busy); a broadcast offer (within 2 hours of the start) holds
 * nothing, and the first to accept books it.
 */
export const waitlistOffers = pgTable(
  'waitlist_offers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    entryId: uuid('entry_id')
      .notNull()
      .references(() => waitlistEntries.id, { onDelete: 'cascade' }),
    librarianId: uuid('librarian_id')
      .notNull()
      .references(() => librarians.id, { onDelete: 'cascade' }),
    startsAt: instant('starts_at').notNull(),
    endsAt: instant('ends_at').notNull(),
    broadcast: boolean('broadcast').notNull().default(false),
    /** SHA-256 of the accept link's token. */
    tokenHash: text('token_hash').notNull(),
    status: text('status', { enum: OFFER_STATUSES }).notNull().default('open'),
    expiresAt: instant('expires_at').notNull(),
    bookingId: uuid('booking_id'),
    createdAt: createdAt(),
    decidedAt: instant('decided_at'),
  },
  (t) => [
    uniqueIndex('waitlist_offers_token_key').on(t.tokenHash),
    index('waitlist_offers_open_idx').on(t.librarianId, t.startsAt).where(sql`${t.status} = 'open'`),
    index('waitlist_offers_entry_idx').on(t.entryId),
  ],
);

/** A lease on a job that runs in one process at a time (the waitlist's matching): held until `lockedUntil`. */
export const workerLeases = pgTable('worker_leases', {
  name: text('name').primaryKey(),
  lockedUntil: instant('locked_until').notNull(),
});
