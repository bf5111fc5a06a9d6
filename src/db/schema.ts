import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  time,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => instant('created_at').notNull();

export const librarians = pgTable(
  'librarians',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    subjects: text('subjects').array().notNull().default(sql`'{}'::text[]`),
    faculty: text('faculty'),
    timeZone: text('time_zone').notNull(),
    slotMinutes: integer('slot_minutes').notNull().default(60),
    bufferMinutes: integer('buffer_minutes').notNull().default(0),
    minNoticeMinutes: integer('min_notice_minutes').notNull().default(120),
    horizonDays: integer('horizon_days').notNull().default(60),
    maxCompanions: integer('max_companions').notNull().default(1),
    modes: text('modes').array().notNull().default(sql`'{in_person}'::text[]`),
    location: text('location'),
    meetingUrl: text('meeting_url'),
    active: boolean('active').notNull().default(true),
    /** SHA-256 of the secret in the librarian's calendar subscription URL. */
    calendarTokenHash: text('calendar_token_hash'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('librarians_email_key').on(sql`lower(${t.email})`),
    check('librarians_slot_minutes_check', sql`${t.slotMinutes} between 5 and 480`),
    check('librarians_buffer_minutes_check', sql`${t.bufferMinutes} between 0 and 240`),
    check('librarians_min_notice_minutes_check', sql`${t.minNoticeMinutes} between 0 and 43200`),
    check('librarians_horizon_days_check', sql`${t.horizonDays} between 1 and 730`),
    check('librarians_max_companions_check', sql`${t.maxCompanions} between 0 and 5`),
  ],
);

/** Weekly windows, as wall-clock times in the librarian's zone. */
export const availabilityRules = pgTable(
  'availability_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    librarianId: uuid('librarian_id')
      .notNull()
      .references(() => librarians.id, { onDelete: 'cascade' }),
    weekday: smallint('weekday').notNull(),
    startTime: time('start_time').notNull(),
    endTime: time('end_time').notNull(),
    validFrom: date('valid_from', { mode: 'string' }),
    validTo: date('valid_to', { mode: 'string' }),
    mode: text('mode'),
    location: text('location'),
  },
  (t) => [
    index('availability_rules_librarian_idx').on(t.librarianId),
    check('availability_rules_weekday_check', sql`${t.weekday} between 1 and 7`),
    check('availability_rules_window_check', sql`${t.endTime} > ${t.startTime}`),
    check(
      'availability_rules_validity_check',
      sql`${t.validTo} is null or ${t.validFrom} is null or ${t.validTo} >= ${t.validFrom}`,
    ),
  ],
);

/**
 * Closures and extra hours. Either whole local days (from_date..to_date, inclusive, resolved in
 * the librarian's zone when slots are computed) or exact instants. librarian_id null = whole library.
 */
export const availabilityOverrides = pgTable(
  'availability_overrides',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    librarianId: uuid('librarian_id').references(() => librarians.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['closed', 'open'] }).notNull(),
    fromDate: date('from_date', { mode: 'string' }),
    toDate: date('to_date', { mode: 'string' }),
    startsAt: instant('starts_at'),
    endsAt: instant('ends_at'),
    reason: text('reason'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('availability_overrides_librarian_idx').on(t.librarianId),
    check('availability_overrides_kind_check', sql`${t.kind} in ('closed', 'open')`),
    check(
      'availability_overrides_range_check',
      sql`(${t.fromDate} is not null and ${t.toDate} is not null and ${t.toDate} >= ${t.fromDate} and ${t.startsAt} is null and ${t.endsAt} is null)
       or (${t.startsAt} is not null and ${t.endsAt} is not null and ${t.endsAt} > ${t.startsAt} and ${t.fromDate} is null and ${t.toDate} is null)`,
    ),
    check('availability_overrides_library_wide_check', sql`${t.librarianId} is not null or ${t.kind} = 'closed'`),
  ],
);

/** Admin-defined ways of describing students (fee_status, study_level, …). */
export const categoryDimensions = pgTable('category_dimensions', {
  key: text('key').primaryKey(),
  label: text('label').notNull(),
  position: integer('position').notNull().default(0),
});

export const categoryValues = pgTable(
  'category_values',
  {
    dimensionKey: text('dimension_key')
      .notNull()
      .references(() => categoryDimensions.key, { onDelete: 'cascade', onUpdate: 'cascade' }),
    value: text('value').notNull(),
    label: text('label').notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.dimensionKey, t.value] })],
);

export const students = pgTable('students', {
  id: uuid('id').primaryKey().defaultRandom(),
  idpSubject: text('idp_subject').notNull().unique(),
  email: text('email'),
  name: text('name'),
  categories: jsonb('categories').$type<Record<string, string>>().notNull().default({}),
  /** When the student answered the category questions (perhaps "prefer not to say"): never asked again. */
  categoriesAnsweredAt: instant('categories_answered_at'),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull(),
});

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
    /** The zone the student booked in (their browser's), so emails show their time too. */
    studentTimeZone: text('student_time_zone'),
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
    check('bookings_attendance_check', sql`${t.attendance} is null or ${t.attendance} in ('attended', 'no_show')`),
    check(
      'bookings_booked_parties_check',
      sql`${t.source} <> 'booked' or (${t.studentId} is not null and ${t.librarianId} is not null)`,
    ),
  ],
);

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
    /** Insertion order: companions added at one instant (the clock's) still list in the order given. */
    ordinal: bigserial('ordinal', { mode: 'number' }).notNull(),
    statusChangedAt: instant('status_changed_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('companions_booking_idx').on(t.bookingId),
    check('companions_status_check', sql`${t.status} in ('invited', 'declined', 'removed')`),
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

export const NOTIFICATION_STATUSES = ['pending', 'sent', 'failed', 'dead', 'skipped'] as const;

/**
 * The outbox: written in the same transaction as the booking change, sent by the worker. What a
 * message says is fixed when it is queued (`message`, a MessageSnapshot; reminders read the booking
 * as it then is); Message-ID is fixed here too, so a resend after a crash is recognisably the same
 * message.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    /** The booking the message is about; null for messages about no booking (sign-in links). */
    bookingId: uuid('booking_id').references(() => bookings.id, { onDelete: 'cascade' }),
    recipientRole: text('recipient_role', { enum: ['student', 'companion', 'librarian'] }).notNull(),
    companionId: uuid('companion_id').references(() => companions.id, { onDelete: 'cascade' }),
    recipientEmail: text('recipient_email').notNull(),
    recipientName: text('recipient_name'),
    /** For reminders: the start they were queued for, so a moved session's old reminder is skipped. */
    sessionStartsAt: instant('session_starts_at'),
    sendAfter: instant('send_after').notNull(),
    status: text('status', { enum: NOTIFICATION_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    messageId: text('message_id').notNull().unique(),
    /** What the message says, fixed when queued (MessageSnapshot); reminders read the booking as it is. */
    payload: jsonb('payload'),
    /**
     * The manage link's token for this message, from its first attempt until it is sent, so every
     * retry carries the same link; cleared once sent. Only its hash is in manage_tokens.
     */
    linkToken: text('link_token'),
    lockedUntil: instant('locked_until'),
    sentAt: instant('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('notifications_due_idx').on(t.status, t.sendAfter),
    index('notifications_booking_idx').on(t.bookingId),
    check('notifications_status_check', sql`${t.status} in ('pending', 'sent', 'failed', 'dead', 'skipped')`),
  ],
);

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
 * Browser sessions: only the SHA-256 of the cookie's random id is stored. A session starts
 * anonymous (it carries the CSRF secret and the chosen time zone) and is replaced by a new id at
 * sign-in, so an id planted before sign-in is worthless after it.
 */
export const webSessions = pgTable(
  'web_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    /** The signed-in person (AuthUser without librarianId), or null. */
    user: jsonb('user').$type<{ sub: string; email: string | null; name: string | null; roles: string[] }>(),
    csrfSecret: text('csrf_secret').notNull(),
    timeZone: text('time_zone'),
    /** A single sign-on in progress: PKCE verifier, state, nonce, where to go after, when it began. */
    oidcPending: jsonb('oidc_pending').$type<{
      verifier: string;
      state: string;
      nonce: string;
      next: string;
      startedAt: string;
    }>(),
    createdAt: instant('created_at').notNull(),
    expiresAt: instant('expires_at').notNull(),
  },
  (t) => [index('web_sessions_expires_idx').on(t.expiresAt)],
);

/** One-time sign-in links sent by email: the hash only, 15 minutes, single use. */
export const signInLinks = pgTable(
  'sign_in_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    email: text('email').notNull(),
    next: text('next'),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('sign_in_links_email_idx').on(t.email, t.createdAt)],
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
    check('feedback_responses_book_myself_check', sql`${t.bookMyself} in ('yes', 'maybe', 'no')`),
    check('feedback_responses_comment_check', sql`char_length(${t.comment}) <= 1000`),
  ],
);

export const WEBHOOK_EVENT_TYPES = [
  'booking.created',
  'booking.rescheduled',
  'booking.cancelled',
  'booking.companion_changed',
  'booking.attendance_recorded',
] as const;

/**
 * The library's other systems, told of booking changes by signed HTTP requests (Standard
 * Webhooks). The secret signs (it cannot be hashed); during a rotation the previous one also signs
 * until previous_secret_expires_at.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull(),
  description: text('description'),
  events: text('events').array().notNull(),
  enabled: boolean('enabled').notNull().default(true),
  /** Why it was turned off: 'gone' (410), 'failing' (3 days of failures) or 'admin'. */
  disabledReason: text('disabled_reason'),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: instant('previous_secret_expires_at'),
  /** The first failure since the last success: 3 days of only failures disables the endpoint. */
  failingSince: instant('failing_since'),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull(),
});

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'dead'] as const;

/**
 * One event for one endpoint, created in the transaction that appended the event, so no change is
 * ever missed; the webhook worker claims due rows with FOR UPDATE SKIP LOCKED.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** Also the webhook-id header: the same on every attempt. */
    id: text('id').primaryKey(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at').notNull(),
    lockedUntil: instant('locked_until'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    lastDurationMs: integer('last_duration_ms'),
    lastAttemptAt: instant('last_attempt_at'),
    deliveredAt: instant('delivered_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    check('webhook_deliveries_status_check', sql`${t.status} in ('pending', 'succeeded', 'dead')`),
  ],
);

/**
 * Random keys this deployment keeps, made once by whichever process first needs one and shared by
 * every process (e.g. `page_cookies`: signs the CSRF and pending sign-on cookies of visitors who
 * have no session yet).
 */
export const appSecrets = pgTable('app_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: instant('created_at').notNull(),
});
