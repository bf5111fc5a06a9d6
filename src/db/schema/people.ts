import { sql } from 'drizzle-orm';
import {
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
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import { createdAt, instant } from './columns.js';

// Librarians, their availability and closures, students and how they are described.

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
  /** The language the student chose for pages and emails (a catalogue's tag, e.g. "zh-Hans"); null: not chosen. */
  language: text('language'),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull(),
});
