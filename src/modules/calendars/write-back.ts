import { createHash } from 'node:crypto';
import { and, asc, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import ical, { ICalEventStatus } from 'ical-generator';
import type { Database } from '../../db/client.js';
import { bookings, calendarEventCopies, companions, students } from '../../db/schema.js';
import type { Translate } from '../../text/i18n.js';
import { eventUid } from '../notifications/invite.js';
import type { CaldavAccount } from './caldav.js';
import { deleteEvent, putEvent } from './caldav.js';
import { CalendarReadError } from './fetch.js';

// Write-back: each confirmed booking of the librarian as an event in the calendar they chose, kept
// in step by comparing what should be there (the bookings) with what was written (the copies).
// A booking, a move or a cancellation is written at the worker's next tick; a calendar that is
// down delays the write, backing off, and loses nothing, because the booking is the record.

type CopyRow = typeof calendarEventCopies.$inferSelect;

/** What a booking's event says: the student's first name and topic, friends' names, where. No email, no categories. */
export interface BookingEvent {
  bookingId: string;
  startMs: number;
  endMs: number;
  studentName: string | null;
  topic: string | null;
  friends: string[];
  location: string | null;
  meetingUrl: string | null;
  sequence: number;
  updatedMs: number;
}

/** Retry after the n-th failed write: 30 s, doubling, at most an hour. */
export function writeRetryMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

const firstName = (name: string | null) => (name ?? '').trim().split(/\s+/)[0] || null;

/** The event's iCalendar text (UTC times; DTSTAMP the booking's last change, so unchanged text for an unchanged booking). */
export function bookingEventIcs(event: BookingEvent, t: Translate): string {
  const calendar = ical({ prodId: { company: 'Liaison', product: 'Library appointments', language: 'EN' } });
  const who = firstName(event.studentName) ?? t('staff.calendars.event.student');
  const lines = [
    event.topic ? t('staff.calendars.event.topic', { topic: event.topic }) : null,
    event.friends.length > 0 ? t('staff.calendars.event.friends', { names: event.friends.join(', ') }) : null,
    event.meetingUrl ? t('staff.calendars.event.online', { url: event.meetingUrl }) : null,
  ].filter((line): line is string => line !== null);
  calendar.createEvent({
    id: eventUid(event.bookingId),
    sequence: event.sequence,
    start: new Date(event.startMs),
    end: new Date(event.endMs),
    stamp: new Date(event.updatedMs),
    summary: t('staff.calendars.event.summary', { name: who }),
    description: lines.join('\n'),
    location: event.location ?? (event.meetingUrl ? t('staff.calendars.event.onlineLocation') : null),
    url: event.meetingUrl,
    status: ICalEventStatus.CONFIRMED,
  });
  return calendar.toString();
}

export function createWriteBack(deps: { db: Database; translator: Translate; allowHosts: readonly string[] }) {
  const { db } = deps;

  /** The librarian's confirmed bookings still to come, as their events should read. */
  async function wanted(librarianId: string, now: Date): Promise<BookingEvent[]> {
    const rows = await db
      .select({
        bookingId: bookings.id,
        startsAt: bookings.startsAt,
        endsAt: bookings.endsAt,
        studentName: students.name,
        topic: bookings.topic,
        location: bookings.location,
        meetingUrl: bookings.meetingUrl,
        sequence: bookings.sequence,
        updatedAt: bookings.updatedAt,
      })
      .from(bookings)
      .innerJoin(students, eq(students.id, bookings.studentId))
      .where(
        and(
          eq(bookings.librarianId, librarianId),
          sql`${bookings.status} = 'confirmed' and ${bookings.source} = 'booked'`,
          gt(bookings.endsAt, now),
        ),
      )
      .orderBy(asc(bookings.startsAt));
    const friends =
      rows.length === 0
        ? []
        : await db
            .select({ bookingId: companions.bookingId, name: companions.name })
            .from(companions)
            .where(
              and(
                inArray(
                  companions.bookingId,
                  rows.map((row) => row.bookingId),
                ),
                ne(companions.status, 'removed'),
              ),
            )
            .orderBy(asc(companions.name));
    return rows.map((row) => ({
      bookingId: row.bookingId,
      startMs: row.startsAt.getTime(),
      endMs: row.endsAt.getTime(),
      studentName: row.studentName,
      topic: row.topic,
      friends: friends
        .filter((friend) => friend.bookingId === row.bookingId && friend.name)
        .map((friend) => friend.name as string),
      location: row.location,
      meetingUrl: row.meetingUrl,
      sequence: row.sequence,
      updatedMs: row.updatedAt.getTime(),
    }));
  }

  async function failed(
    copy: Pick<CopyRow, 'connectionId' | 'bookingId'> & Partial<CopyRow>,
    error: unknown,
    now: Date,
  ) {
    const code = error instanceof CalendarReadError ? error.code : 'server_error';
    const attempts = (copy.attempts ?? 0) + 1;
    await db
      .insert(calendarEventCopies)
      .values({
        connectionId: copy.connectionId,
        bookingId: copy.bookingId,
        url: copy.url ?? null,
        etag: copy.etag ?? null,
        digest: copy.digest ?? null,
        attempts,
        lastError: code,
        nextAttemptAt: new Date(now.getTime() + writeRetryMs(attempts)),
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [calendarEventCopies.connectionId, calendarEventCopies.bookingId],
        set: {
          attempts,
          lastError: code,
          nextAttemptAt: new Date(now.getTime() + writeRetryMs(attempts)),
          updatedAt: now,
        },
      });
  }

  /**
   * Brings one connection's calendar in step: writes bookings whose event is missing or out of
   * date, deletes events of bookings no longer confirmed. Returns how many writes were made.
   */
  async function reconcile(
    connection: { id: string; librarianId: string },
    account: CaldavAccount,
    calendarUrl: string,
    now: Date,
  ): Promise<{ written: number; deleted: number; failed: number }> {
    const result = { written: 0, deleted: 0, failed: 0 };
    const events = await wanted(connection.librarianId, now);
    const copies = await db
      .select()
      .from(calendarEventCopies)
      .where(eq(calendarEventCopies.connectionId, connection.id));
    const copyOf = new Map(copies.map((copy) => [copy.bookingId, copy]));
    const due = (copy: CopyRow | undefined) => !copy?.nextAttemptAt || copy.nextAttemptAt <= now;
    for (const event of events) {
      const copy = copyOf.get(event.bookingId);
      const ics = bookingEventIcs(event, deps.translator);
      const digest = createHash('sha256').update(calendarUrl).update(ics).digest('base64url');
      if (copy?.digest === digest || !due(copy)) continue;
      try {
        // Bookings now go to another calendar: the event there is created, the old one deleted first.
        const inThisCalendar = copy?.url?.startsWith(calendarUrl) ?? false;
        if (copy?.url && !inThisCalendar)
          await deleteEvent(account, deps.allowHosts, { url: copy.url, etag: copy.etag });
        const written = await putEvent(
          account,
          deps.allowHosts,
          calendarUrl,
          `${event.bookingId}.ics`,
          ics,
          copy?.url && inThisCalendar ? { url: copy.url, etag: copy.etag } : null,
        );
        await db
          .insert(calendarEventCopies)
          .values({
            connectionId: connection.id,
            bookingId: event.bookingId,
            url: written.url,
            etag: written.etag,
            digest,
            attempts: 0,
            lastError: null,
            nextAttemptAt: null,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: [calendarEventCopies.connectionId, calendarEventCopies.bookingId],
            set: {
              url: written.url,
              etag: written.etag,
              digest,
              attempts: 0,
              lastError: null,
              nextAttemptAt: null,
              updatedAt: now,
            },
          });
        result.written++;
      } catch (error) {
        await failed(copy ?? { connectionId: connection.id, bookingId: event.bookingId }, error, now);
        result.failed++;
      }
    }
    const stillWanted = new Set(events.map((event) => event.bookingId));
    const gone = copies.filter((copy) => !stillWanted.has(copy.bookingId));
    // A session that has happened keeps its event: only the copy's record goes.
    const held = new Set(
      gone.length === 0
        ? []
        : (
            await db
              .select({ id: bookings.id })
              .from(bookings)
              .where(
                and(
                  inArray(
                    bookings.id,
                    gone.map((copy) => copy.bookingId),
                  ),
                  eq(bookings.status, 'confirmed'),
                ),
              )
          ).map((row) => row.id),
    );
    for (const copy of gone) {
      if (!due(copy)) continue;
      try {
        if (copy.url && !held.has(copy.bookingId)) {
          await deleteEvent(account, deps.allowHosts, { url: copy.url, etag: copy.etag });
          result.deleted++;
        }
        await db
          .delete(calendarEventCopies)
          .where(
            and(eq(calendarEventCopies.connectionId, connection.id), eq(calendarEventCopies.bookingId, copy.bookingId)),
          );
      } catch (error) {
        await failed(copy, error, now);
        result.failed++;
      }
    }
    return result;
  }

  return { reconcile };
}
