import type { BusyBlock, BusyTimeOptions } from './busy-time.js';
import {
  type CaldavAccount,
  type CaldavCalendar,
  type CtagState,
  discoverCalendars,
  readCaldavBusy,
} from './caldav.js';
import { type CachedRead, CalendarReadError, fetchCalendar } from './fetch.js';
import type { ReadBusyTime } from './parse.js';

// The kinds of calendar a librarian connects, each read into busy blocks the same way. Another
// provider (Microsoft Graph, Google) is another kind here: its secret, settings and sync state
// are JSON in the connection's row.

export const CALENDAR_KINDS = ['ics', 'caldav'] as const;
export type CalendarKind = (typeof CALENDAR_KINDS)[number];

/** What is sealed: a calendar address, or a CalDAV account. */
export type ConnectionSecret = { url: string } | CaldavAccount;

/** A CalDAV connection's choices: its calendars, those that count as busy, the one bookings go to. */
export interface CaldavSettings {
  calendars: CaldavCalendar[];
  busy: string[];
  writeTo: string | null;
}

export type Window = Omit<BusyTimeOptions, never>;

/** One read: the busy blocks (null: unchanged since the last read) and what the next read starts from. */
export interface SourceRead {
  blocks: BusyBlock[] | null;
  syncState: Record<string, unknown>;
}

export async function readSource(
  kind: string,
  secret: ConnectionSecret,
  settings: unknown,
  syncState: Record<string, unknown>,
  window: Window,
  allowHosts: readonly string[],
  read: ReadBusyTime,
): Promise<SourceRead> {
  if (kind === 'caldav' && 'serverUrl' in secret) {
    const chosen = (settings as CaldavSettings).busy ?? [];
    const busy = await readCaldavBusy(secret, chosen, (syncState.ctags ?? {}) as CtagState, allowHosts, window, read);
    return { blocks: busy.blocks, syncState: { ctags: busy.state } };
  }
  if (kind === 'ics' && 'url' in secret) {
    const fetched = await fetchCalendar(secret.url, syncState as CachedRead, allowHosts);
    if (!fetched.changed) return { blocks: null, syncState };
    return {
      blocks: await read([fetched.text], window),
      syncState: { etag: fetched.etag, lastModified: fetched.lastModified },
    };
  }
  throw new CalendarReadError('server_error', `no reader for ${kind}`);
}

/** A new CalDAV account's calendars, every one counting as busy until the librarian chooses. */
export async function firstCaldavSettings(
  account: CaldavAccount,
  allowHosts: readonly string[],
): Promise<CaldavSettings> {
  const calendars = await discoverCalendars(account, allowHosts);
  return { calendars, busy: calendars.map((calendar) => calendar.url), writeTo: null };
}
