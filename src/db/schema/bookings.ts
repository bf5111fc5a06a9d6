import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import { createdAt, instant } from './columns.js';
import { librarians, students } from './people.js';

// Bookings, their companions, manage links, the change feed and idempotency keys.

export const BOOKING_STATUSES = ['confirmed', 'cancelled'] as const;
export const BOOKING_SOURCES = ['booked', 'recorded', 'imported'] as const;
export const ATTENDANCE = ['attended', 'no_show'] as const;

/**
 * Sessions: booked here, recorded afterwards by a librarian (walk-ins, phone bookings) or imported.
 * Only booked, confirmed sessions hold time: the two EXCLUDE constraints (custom migration) stop a
 * librarian being double-booked (buffer kept, via occupied_until) and a student holding two at once.
 */
export const bookings = pgTable(
  'bookings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    librarianId: uuid('librarian_id').references(() => librarians.id),
    studentId: uuid('student_id').references(() => students.id),
    /** Pseudonymous student key for unique-student counts: s:<student id>, or an import's studentRef. */
    studentRef: text('student_ref'),
    source: text('source', { enum: BOOKING_SOURCES }).notNull().default('booked'),
    startsAt: instant('starts_at').notNull(),
    endsAt: instant('ends_at').notNull(),
    /** ends_at plus the librarian's buffer when booked: the time this booking keeps from others. */
    occupiedUntil: instant('occupied_until').notNull(),
    status: text('status', { enum: BOOKING_STATUSES }).notNull().default('confirmed'),
    mode: text('mode', { enum: ['in_person', 'online'] }).notNull(),
    location: text('location'),
    meetingUrl: text('meeting_url'),
    topic: text('topic'),
    /**
     * Booked as "any available librarian" for a pool ("subject:Law", "team:<id>"), the librarian
     * assigned at the moment of booking; null when the student chose the librarian.
     */
    pool: text('pool'),
    /** The zone the student booked in (their browser's), so emails show their time too. */
    studentTimeZone: text('student_time_zone'),
    /** The student said, booking, that they first came to a session as someone's friend (null: not asked). */
    cameAsFriendBefore: boolean('came_as_friend_before'),
    /** How the student felt about the session when booking: 1 (not at all nervous) to 5 (very); null: not answered. */
    nervesBefore: smallint('nerves_before'),
    /** The librarian's effort on the READ scale (1 least to 6 most), recorded with attendance; null: not recorded. */
    effort: smallint('effort'),
    studentCategories: jsonb('student_categories').$type<Record<string, string>>().notNull().default({}),
    attendance: text('attendance', { enum: ATTENDANCE }),
    cancelledAt: instant('cancelled_at'),
    cancelledBy: text('cancelled_by'),
    cancellationReason: text('cancellation_reason'),
    lateCancellation: boolean('late_cancellation').notNull().default(false),
    sequence: integer('sequence').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('bookings_librarian_starts_idx').on(t.librarianId, t.startsAt),
    index('bookings_student_starts_idx').on(t.studentId, t.startsAt),
    index('bookings_starts_idx').on(t.startsAt),
    // Re-importing the same file must not double-count: one imported session per start, librarian, student.
    uniqueIndex('bookings_import_dedupe_key')
      .on(t.startsAt, sql`coalesce(${t.librarianId}::text, '')`, t.studentRef)
      .where(sql`${t.source} = 'imported'`),
    check('bookings_time_check', sql`${t.endsAt} > ${t.startsAt} and ${t.occupiedUntil} >= ${t.endsAt}`),
    check('bookings_status_check', sql`${t.status} in ('confirmed', 'cancelled')`),
    check('bookings_source_check', sql`${t.source} in ('booked', 'recorded', 'imported')`),
    check('bookings_nerves_before_check', sql`${t.nervesBefore} between 1 and 5`),
    check('bookings_effort_check', sql`${t.effort} between 1 and 6`),
    check('bookings_attendance_check', sql`${t.attendance} is null or ${t.attendance} in ('attended', 'no_show')`),
    check(
      'bookings_booked_parties_check',
      sql`${t.source} <> 'booked' or (${t.studentId} is not null and ${t.librarianId} is not null)`,
    ),
  ],
);

/**
 * Who a companion is to the student. A support worker or interpreter is an accessibility
 * adjustment, not a guest: the figures about bringing a friend leave them out.
 */
export const COMPANION_ROLES = ['friend', 'family', 'support'] as const;

export const companions = pgTable(
  'companions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    bookingId: uuid('booking_id')
      .notNull()
      .references(() => bookings.id, { onDelete: 'cascade' }),
    name: text('name'),
    email: text('email'),
    categories: jsonb('categories').$type<Record<string, string>>(),
    status: text('status', { enum: ['invited', 'declined', 'removed'] })
      .notNull()
      .default('invited'),
    attended: boolean('attended'),
    /** Who the companion is to the student: a friend or classmate, family, or a support worker or interpreter. */
    role: text('role', { enum: COMPANION_ROLES }).notNull().default('friend'),
    /** When an invited friend said "I'll come" (null: not said, or said then withdrawn by declining). */
    confirmedAt: instant('confirmed_at'),
    /** The language of the companion's emails, as the student chose it (null: the student's own). */
    language: text('language'),
    /** Insertion order: companions added at one instant (the clock's) still list in the order given. */
    ordinal: bigserial('ordinal', { mode: 'number' }).notNull(),
    statusChangedAt: instant('status_changed_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('companions_booking_idx').on(t.bookingId),
    check('companions_status_check', sql`${t.status} in ('invited', 'declined', 'removed')`),
    check('companions_role_check', sql`${t.role} in ('friend', 'family', 'support')`),
  ],
);

/** Links in emails: only the SHA-256 of each random token is kept. */
export const manageTokens = pgTable(
  'manage_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    bookingId: uuid('booking_id')
      .notNull()
      .references(() => bookings.id, { onDelete: 'cascade' }),
    holder: text('holder', { enum: ['student', 'companion'] }).notNull(),
    companionId: uuid('companion_id').references(() => companions.id, { onDelete: 'cascade' }),
    expiresAt: instant('expires_at').notNull(),
    revokedAt: instant('revoked_at'),
    /** 'email' (minted for one message) or 'response' (returned by the API; a replay revokes the last). */
    issuedVia: text('issued_via', { enum: ['email', 'response'] })
      .notNull()
      .default('email'),
    createdAt: createdAt(),
  },
  (t) => [index('manage_tokens_booking_idx').on(t.bookingId)],
);

/** Append-only audit trail of every change to a booking. */
export const bookingEvents = pgTable(
  'booking_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    bookingId: uuid('booking_id')
      .notNull()
      .references(() => bookings.id, { onDelete: 'cascade' }),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    at: instant('at').notNull(),
  },
  (t) => [index('booking_events_booking_idx').on(t.bookingId, t.id)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    caller: text('caller').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    response: jsonb('response'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.caller, t.key] })],
);
