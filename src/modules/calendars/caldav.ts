import { createDAVClient, type DAVCalendar } from 'tsdav';
import { type BusyBlock, mergeBlocks } from './busy-time.js';
import { CalendarReadError } from './fetch.js';
import { caldavError, createGuardedFetch, type FetchRecord } from './guarded-fetch.js';
import type { ReadBusyTime } from './parse.js';

// A CalDAV account (two-way): discovery from the server's address (well-known, principal,
// calendar home) and reading and writing events, through tsdav with Liaison's guarded fetch.

/** The account as sealed in the connection's secret. */
export interface CaldavAccount {
  serverUrl: string;
  username: string;
  password: string;
}

/** One calendar of the account, as the librarian picks among them. */
export interface CaldavCalendar {
  url: string;
  name: string;
}

type Client = Awaited<ReturnType<typeof createDAVClient>>;

/** Runs `work` with a client for the account; any failure comes out as a CalendarReadError with its reason. */
async function withClient<T>(
  account: CaldavAccount,
  allowHosts: readonly string[],
  work: (client: Client, fetchFn: typeof fetch) => Promise<T>,
): Promise<T> {
  const record: FetchRecord = { statuses: [], errors: [] };
  const fetchFn = createGuardedFetch(allowHosts, record);
  try {
    const client = await createDAVClient({
      serverUrl: account.serverUrl,
      credentials: { username: account.username, password: account.password },
      authMethod: 'Basic',
      defaultAccountType: 'caldav',
      fetch: fetchFn,
    });
    return await work(client, fetchFn);
  } catch (error) {
    throw caldavError(error, record);
  }
}

const calendarName = (calendar: DAVCalendar) =>
  (typeof calendar.displayName === 'string' && calendar.displayName.trim()) ||
  decodeURIComponent(new URL(calendar.url).pathname.split('/').filter(Boolean).at(-1) ?? calendar.url);

/** The account's calendars that hold events. */
export async function discoverCalendars(
  account: CaldavAccount,
  allowHosts: readonly string[],
): Promise<CaldavCalendar[]> {
  return withClient(account, allowHosts, async (client) => {
    const calendars = await client.fetchCalendars();
    const events = calendars.filter((calendar) => !calendar.components || calendar.components.includes('VEVENT'));
    if (events.length === 0) throw new CalendarReadError('not_calendar', 'the account has no calendars');
    return events.map((calendar) => ({ url: calendar.url, name: calendarName(calendar) }));
  });
}

/** Each calendar's ctag as last read: a calendar whose ctag is unchanged is not read again. */
export type CtagState = Record<string, { ctag: string; blocks: BusyBlock[] }>;

/**
 * The busy time in the chosen calendars: each one read whole when its ctag changed (or the server
 * gives none), kept from the last read otherwise; merged.
 */
export async function readCaldavBusy(
  account: CaldavAccount,
  calendarUrls: readonly string[],
  previous: CtagState,
  allowHosts: readonly string[],
  window: { fromMs: number; toMs: number; timeZone: string; ownAddresses: readonly string[] },
  read: ReadBusyTime,
): Promise<{ blocks: BusyBlock[]; state: CtagState }> {
  return withClient(account, allowHosts, async (client) => {
    const calendars = await client.fetchCalendars();
    const state: CtagState = {};
    for (const url of calendarUrls) {
      const calendar = calendars.find((one) => one.url === url);
      if (!calendar) throw new CalendarReadError('not_found', 'a chosen calendar is gone');
      const ctag = typeof calendar.ctag === 'string' ? calendar.ctag : '';
      const kept = previous[url];
      if (ctag && kept && kept.ctag === ctag) {
        state[url] = kept;
        continue;
      }
      const objects = await client.fetchCalendarObjects({ calendar });
      const texts = objects.flatMap((object) =>
        typeof object.data === 'string' && object.data.trim() ? [object.data] : [],
      );
      state[url] = { ctag, blocks: await read(texts, window) };
    }
    return { blocks: mergeBlocks(Object.values(state).flatMap((entry) => entry.blocks)), state };
  });
}

/** What a write left: the event's address and ETag, for the next change. */
export interface WrittenEvent {
  url: string;
  etag: string | null;
}

/**
 * Writes a booking's event: created with If-None-Match: * when it has no copy yet, replaced with
 * If-Match its ETag when it has. A 412 on creating means a copy is there already (a write whose
 * answer was lost): it is replaced.
 */
export async function putEvent(
  account: CaldavAccount,
  allowHosts: readonly string[],
  calendarUrl: string,
  filename: string,
  ics: string,
  existing: WrittenEvent | null,
): Promise<WrittenEvent> {
  return withClient(account, allowHosts, async (client) => {
    const url = existing?.url ?? new URL(filename, calendarUrl.endsWith('/') ? calendarUrl : `${calendarUrl}/`).href;
    let response = existing
      ? await client.updateCalendarObject({
          calendarObject: { url, data: ics, ...(existing.etag ? { etag: existing.etag } : {}) },
        })
      : await client.createCalendarObject({ calendar: { url: calendarUrl }, filename, iCalString: ics });
    if (!existing && response.status === 412) {
      response = await client.updateCalendarObject({ calendarObject: { url, data: ics } });
    }
    if (!response.ok)
      throw new CalendarReadError(
        response.status === 401 || response.status === 403 ? 'refused' : 'server_error',
        `HTTP ${response.status}`,
      );
    return { url, etag: response.headers.get('etag') };
  });
}

/** Deletes a booking's event (If-Match its ETag); one already gone is deleted. */
export async function deleteEvent(
  account: CaldavAccount,
  allowHosts: readonly string[],
  event: WrittenEvent,
): Promise<void> {
  await withClient(account, allowHosts, async (client) => {
    const response = await client.deleteCalendarObject({
      calendarObject: { url: event.url, ...(event.etag ? { etag: event.etag } : {}) },
    });
    if (!response.ok && response.status !== 404 && response.status !== 410) {
      throw new CalendarReadError(
        response.status === 401 || response.status === 403 ? 'refused' : 'server_error',
        `HTTP ${response.status}`,
      );
    }
  });
}
