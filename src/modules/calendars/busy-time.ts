import ICAL from 'ical.js';
import { DateTime } from 'luxon';
import { isCanonicalTimeZone } from '../../time/zone.js';

// A librarian's busy time from their own calendar: the events of an iCalendar file that block
// time, expanded over a window and merged. Pure: the caller fetches the text and stores the result.

/** A stretch of busy time, as milliseconds since the epoch, end exclusive. */
export interface BusyBlock {
  startMs: number;
  endMs: number;
}

export interface BusyTimeOptions {
  /** Only time touching [fromMs, toMs) is kept (the booking horizon and a day either side). */
  fromMs: number;
  toMs: number;
  /** The zone of floating times and all-day events (the librarian's). */
  timeZone: string;
  /** The librarian's own addresses: an event they declined does not block. */
  ownAddresses: readonly string[];
}

/** Why a calendar's text could not be read as busy time. */
export class CalendarFormatError extends Error {}

/** A calendar past Liaison's budgets: too many occurrences or events to expand. */
export class CalendarTooComplex extends CalendarFormatError {}

/**
 * A series is followed from its first occurrence (an RRULE is anchored there) for at most this
 * many: a daily meeting begun 100 years ago is read whole, a FREQ=SECONDLY one stops here.
 */
const MAX_OCCURRENCES_PER_SERIES = 40_000;
/** A calendar gives at most this many busy blocks (before merging). */
const MAX_BLOCKS = 50_000;
/**
 * Occurrences followed in one read, all series together: twenty FREQ=SECONDLY series stop here,
 * not at 20 x 40,000 (hardening round three, finding 2). The worker's time limit is the last word.
 */
export const MAX_OCCURRENCES_PER_READ = 200_000;
const DAY_MS = 24 * 60 * 60_000;

/** Liaison's own events carry the booking's UID (notifications/invite.ts eventUid): never busy twice. */
const OWN_EVENT_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@liaison$/i;

/**
 * The busy time in an iCalendar text: every VEVENT that blocks time, recurring ones expanded
 * (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) in their own zones (VTIMEZONE in the file, else
 * an IANA TZID, else the librarian's zone), merged into non-overlapping blocks in order.
 * Cancelled, transparent ("free") and declined events do not block; an all-day event blocks only
 * when marked busy (TRANSP:OPAQUE or Outlook's BUSY/OOF), as Google and Outlook mark them.
 */
export function busyTimeOf(
  text: string,
  options: BusyTimeOptions,
  budget: { occurrences: number } = { occurrences: MAX_OCCURRENCES_PER_READ },
): BusyBlock[] {
  if (!/^\s*BEGIN:VCALENDAR/i.test(text)) throw new CalendarFormatError('is not an iCalendar file');
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch {
    throw new CalendarFormatError('is not a readable iCalendar file');
  }
  if (root.name !== 'vcalendar') throw new CalendarFormatError('is not an iCalendar file');
  const own = new Set(options.ownAddresses.map((address) => address.toLowerCase()));

  // A series is its master event and the overrides of single occurrences, grouped by UID.
  const series = new Map<string, { master?: ICAL.Component; overrides: ICAL.Component[] }>();
  const singles: ICAL.Component[] = [];
  for (const vevent of root.getAllSubcomponents('vevent')) {
    const uid = String(vevent.getFirstPropertyValue('uid') ?? '');
    if (OWN_EVENT_UID.test(uid)) continue;
    if (!uid) {
      singles.push(vevent);
      continue;
    }
    const entry = series.get(uid) ?? { overrides: [] };
    if (vevent.hasProperty('recurrence-id')) entry.overrides.push(vevent);
    else entry.master = vevent;
    series.set(uid, entry);
  }

  const blocks: BusyBlock[] = [];
  const add = (vevent: ICAL.Component, start: ICAL.Time, end: ICAL.Time) => {
    if (!blocks_(vevent, own)) return;
    const startMs = instantOf(start, vevent, 'dtstart', options.timeZone);
    let endMs = instantOf(end, vevent, vevent.hasProperty('dtend') ? 'dtend' : 'dtstart', options.timeZone);
    if (start.isDate && endMs <= startMs) endMs = startMs + DAY_MS;
    if (endMs <= startMs || endMs <= options.fromMs || startMs >= options.toMs) return;
    if (blocks.length >= MAX_BLOCKS) throw new CalendarTooComplex('has more events than Liaison reads');
    blocks.push({ startMs, endMs });
  };

  try {
    for (const vevent of singles) {
      const event = new ICAL.Event(vevent);
      add(vevent, event.startDate, event.endDate);
    }
    for (const { master, overrides } of series.values()) {
      if (!master) {
        // Overrides whose series is not in the file: each is an event of its own.
        for (const vevent of overrides) {
          const event = new ICAL.Event(vevent);
          add(vevent, event.startDate, event.endDate);
        }
        continue;
      }
      const event = new ICAL.Event(master, { exceptions: overrides, strictExceptions: false });
      if (!event.startDate) continue;
      if (!event.isRecurring()) {
        add(master, event.startDate, event.endDate);
        continue;
      }
      const iterator = event.iterator();
      for (let count = 0; count < MAX_OCCURRENCES_PER_SERIES; count++) {
        if (--budget.occurrences < 0) throw new CalendarTooComplex('repeats more often than Liaison reads');
        const next = iterator.next();
        if (!next) break;
        const details = event.getOccurrenceDetails(next);
        const item = details.item.component;
        const startMs = instantOf(details.startDate, item, 'dtstart', options.timeZone);
        // Occurrences come in order of their original start: once one starts a day past the
        // window, and no override can move one back into it, the rest are later still.
        if (instantOf(next, master, 'dtstart', options.timeZone) >= options.toMs + DAY_MS && startMs >= options.toMs)
          break;
        add(item, details.startDate, details.endDate);
      }
      // An override moved from outside the window into it.
      for (const vevent of overrides) {
        const moved = new ICAL.Event(vevent);
        const originalMs = instantOf(moved.recurrenceId, vevent, 'recurrence-id', options.timeZone);
        if (originalMs < options.fromMs - DAY_MS || originalMs >= options.toMs + DAY_MS)
          add(vevent, moved.startDate, moved.endDate);
      }
    }
  } catch (error) {
    if (error instanceof CalendarFormatError) throw error;
    throw new CalendarFormatError('has an event Liaison cannot read');
  }
  return mergeBlocks(blocks);
}

/** Whether one event (or occurrence) blocks the librarian's time. */
function blocks_(vevent: ICAL.Component, own: Set<string>): boolean {
  const status = String(vevent.getFirstPropertyValue('status') ?? '').toUpperCase();
  if (status === 'CANCELLED') return false;
  const transparency = String(vevent.getFirstPropertyValue('transp') ?? '').toUpperCase();
  const busyStatus = String(vevent.getFirstPropertyValue('x-microsoft-cdo-busystatus') ?? '').toUpperCase();
  if (transparency === 'TRANSPARENT' || busyStatus === 'FREE') return false;
  const start = vevent.getFirstPropertyValue('dtstart');
  const allDay = start instanceof ICAL.Time && start.isDate;
  if (allDay && transparency !== 'OPAQUE' && busyStatus !== 'BUSY' && busyStatus !== 'OOF') return false;
  for (const attendee of vevent.getAllProperties('attendee')) {
    const address = String(attendee.getFirstValue() ?? '')
      .replace(/^mailto:/i, '')
      .toLowerCase();
    const answer = String(attendee.getParameter('partstat') ?? '').toUpperCase();
    if (own.has(address) && answer === 'DECLINED') return false;
  }
  return true;
}

/**
 * The instant of a time read from `property` of `vevent`: UTC and zones the file defines (VTIMEZONE)
 * by ical.js; a TZID the file does not define, when it is an IANA name, by luxon; floating times
 * and dates in the librarian's zone.
 */
function instantOf(time: ICAL.Time, vevent: ICAL.Component, property: string, timeZone: string): number {
  const tzid = time.zone?.tzid;
  if (!time.isDate && tzid && tzid !== 'floating') return time.toUnixTime() * 1000;
  const named = time.isDate ? undefined : vevent.getFirstProperty(property)?.getParameter('tzid');
  const zone = typeof named === 'string' && isCanonicalTimeZone(named) ? named : timeZone;
  return DateTime.fromObject(
    {
      year: time.year,
      month: time.month,
      day: time.day,
      hour: time.isDate ? 0 : time.hour,
      minute: time.isDate ? 0 : time.minute,
      second: time.isDate ? 0 : time.second,
    },
    { zone },
  ).toMillis();
}

/** Blocks in order of start, overlapping and touching ones joined. */
export function mergeBlocks(blocks: BusyBlock[]): BusyBlock[] {
  const sorted = [...blocks].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const merged: BusyBlock[] = [];
  for (const block of sorted) {
    const last = merged[merged.length - 1];
    if (last && block.startMs <= last.endMs) last.endMs = Math.max(last.endMs, block.endMs);
    else merged.push({ ...block });
  }
  return merged;
}
