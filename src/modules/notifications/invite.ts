import { getVtimezoneComponent } from '@touch4it/ical-timezones';
import ical, { ICalAttendeeRole, ICalAttendeeStatus, ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import { DateTime } from 'luxon';

export type InviteMethod = 'REQUEST' | 'CANCEL' | 'PUBLISH';

export interface InviteEvent {
  bookingId: string;
  sequence: number;
  cancelled: boolean;
  startMs: number;
  endMs: number;
  /** The librarian's IANA zone: DTSTART/DTEND are given in it, with its VTIMEZONE. */
  timeZone: string;
  summary: string;
  description: string;
  location: string | null;
  url: string | null;
  organizer: { name: string; email: string };
  attendees: { name: string | null; email: string; optional: boolean; declined?: boolean }[];
  stampMs: number;
}

/** One stable UID per booking, so every update and cancellation replaces the same event. */
export function eventUid(bookingId: string): string {
  return `${bookingId}@liaison`;
}

/**
 * A value for a quoted iCalendar parameter (CN). RFC 5545 has no escape for `"` inside quotes, and
 * ical-generator's `\"` ends the quote, so a name could add parameters (ROLE=CHAIR, a new
 * address). RFC 6868 caret encoding instead: ^ -> ^^, " -> ^', newline -> ^n; other controls go.
 */
export function parameterText(value: string): string {
  return Array.from(value, (character) => {
    const code = character.charCodeAt(0);
    if (character === '^') return '^^';
    if (character === '"') return "^'";
    if (character === '\n') return '^n';
    return code < 32 || code === 127 ? ' ' : character;
  }).join('');
}

function utcStamp(ms: number): string {
  return `${new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}

/**
 * iCalendar text for one or more sessions (RFC 5545; iTIP method per RFC 5546). ical-generator
 * escapes user text (names, topics, reasons) in TEXT values, so it cannot start new properties.
 */
export function renderInvite(method: InviteMethod, events: InviteEvent[], calendarName?: string): string {
  const zones = [...new Set(events.map((event) => event.timeZone))];
  const calendar = ical({
    prodId: { company: 'Liaison', product: 'Library appointments', language: 'EN' },
    method: ICalCalendarMethod[method],
    ...(calendarName ? { name: calendarName } : {}),
    ...(zones.length === 1 ? { timezone: { name: zones[0] as string, generator: getVtimezoneComponent } } : {}),
  });
  for (const event of events) {
    calendar.createEvent({
      id: eventUid(event.bookingId),
      sequence: event.sequence,
      // Luxon values in the zone: ical-generator writes a native Date's UTC wall time under any TZID.
      start: DateTime.fromMillis(event.startMs, { zone: event.timeZone }),
      end: DateTime.fromMillis(event.endMs, { zone: event.timeZone }),
      ...(zones.length === 1 ? { timezone: event.timeZone } : {}),
      stamp: new Date(event.stampMs),
      summary: event.summary,
      description: event.description,
      location: event.location,
      url: event.url,
      status: event.cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      organizer: { name: parameterText(event.organizer.name), email: event.organizer.email },
      attendees: event.attendees.map((attendee) => ({
        email: attendee.email,
        name: attendee.name === null ? null : parameterText(attendee.name),
        role: attendee.optional ? ICalAttendeeRole.OPT : ICalAttendeeRole.REQ,
        status: attendee.declined ? ICalAttendeeStatus.DECLINED : ICalAttendeeStatus.NEEDSACTION,
        rsvp: !attendee.declined,
      })),
    });
  }
  // With a calendar zone, ical-generator writes DTSTAMP as local time without Z (RFC 5545 §3.8.7.2
  // requires UTC) and adds a non-standard TIMEZONE-ID line: put both right.
  let index = 0;
  return calendar
    .toString()
    .replace(/^TIMEZONE-ID:.*\r\n/m, '')
    .replace(/^DTSTAMP:.*$/gm, () => `DTSTAMP:${utcStamp((events[index++] as InviteEvent).stampMs)}`);
}
