import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.js';
import { librarians } from './people.js';

/**
 * A librarian's own calendar, read for busy time. `kind` names the provider ('ics': a secret
 * calendar address); another kind (CalDAV, Microsoft Graph, Google) adds a value and its own
 * `settings` and `syncState`, not a column. The address or password is only ever in `secret`,
 * encrypted (AES-256-GCM, calendars/secrets.ts).
 */
export const calendarConnections = pgTable(
  'calendar_connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    librarianId: uuid('librarian_id')
      .notNull()
      .references(() => librarians.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** The librarian's own name for it ("Outlook"). */
    label: text('label').notNull(),
    /** The encrypted secret: the calendar address, or a server's account. */
    secret: text('secret').notNull(),
    secretSetAt: instant('secret_set_at').notNull(),
    /** What may be shown of it: the host ("outlook.office365.com"). */
    host: text('host').notNull(),
    /** Provider settings that are not secret. */
    settings: jsonb('settings').notNull().default({}),
    /** What the last read left for the next one: ETag, Last-Modified, sync tokens. */
    syncState: jsonb('sync_state').notNull().default({}),
    /** SHA-256 of the busy blocks last stored: a read that finds the same leaves them be. */
    busyDigest: text('busy_digest'),
    lastAttemptAt: instant('last_attempt_at'),
    lastSuccessAt: instant('last_success_at'),
    /** Why the last read failed (a code the pages word), null after a good read. */
    lastError: text('last_error'),
    /** The first failure since the last good read. */
    failingSince: instant('failing_since'),
    /** When the librarian was told of this failure spell (once per spell). */
    failureNotifiedAt: instant('failure_notified_at'),
    nextSyncAt: instant('next_sync_at').notNull(),
    /** A worker holds the connection while it reads it; another may take it after this. */
    lockedUntil: instant('locked_until'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('calendar_connections_librarian_idx').on(t.librarianId),
    index('calendar_connections_next_sync_idx').on(t.nextSyncAt),
  ],
);

/** Time a librarian's own calendar says they are busy, as last read; replaced whole by each read that changes it. */
export const calendarBusyBlocks = pgTable(
  'calendar_busy_blocks',
  {
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => calendarConnections.id, { onDelete: 'cascade' }),
    librarianId: uuid('librarian_id').notNull(),
    startsAt: instant('starts_at').notNull(),
    endsAt: instant('ends_at').notNull(),
  },
  (t) => [
    index('calendar_busy_blocks_librarian_idx').on(t.librarianId, t.startsAt),
    index('calendar_busy_blocks_connection_idx').on(t.connectionId),
    check('calendar_busy_blocks_order_check', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);

/**
 * A booking's event as written into a librarian's calendar (CalDAV): where, its ETag for the next
 * change, and a digest of what was written, so the worker writes only what changed. A write that
 * failed waits until `nextAttemptAt` (backing off); the booking itself is the record of what
 * should be there, so an outage delays a write and loses none.
 */
export const calendarEventCopies = pgTable(
  'calendar_event_copies',
  {
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => calendarConnections.id, { onDelete: 'cascade' }),
    bookingId: uuid('booking_id').notNull(),
    url: text('url'),
    etag: text('etag'),
    /** SHA-256 of the event last written; null while none has been. */
    digest: text('digest'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: instant('next_attempt_at'),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.bookingId] })],
);
