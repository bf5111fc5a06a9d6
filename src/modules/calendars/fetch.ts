import type { IncomingMessage } from 'node:http';
import { type Lookup, OutboundRefused, openOutbound, systemLookup, webhookUrlProblem } from '../../http/outbound.js';

// Reading a calendar address over HTTP with the webhooks' rules: https only (http and private
// addresses for CALENDAR_ALLOW_HOSTS alone), every redirect checked again, 10 s and 5 MB at most.

/** Why a calendar could not be read, as a code the pages and emails word (calendar.error.*). */
export const CALENDAR_ERRORS = [
  'forbidden_address',
  'not_found',
  'refused',
  'server_error',
  'unreachable',
  'timeout',
  'too_large',
  'not_calendar',
  'malformed',
  'redirects',
  'too_complex',
] as const;
export type CalendarError = (typeof CALENDAR_ERRORS)[number];

export class CalendarReadError extends Error {
  constructor(
    readonly code: CalendarError,
    detail?: string,
  ) {
    super(detail ?? code);
  }
}

export const TIMEOUT_MS = 10_000;
export const MAX_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 3;

/** A calendar address as people paste it: webcal:// is the same address over https://. */
export function normaliseCalendarUrl(raw: string): string {
  const trimmed = raw.trim();
  return /^webcals?:\/\//i.test(trimmed) ? trimmed.replace(/^webcals?:\/\//i, 'https://') : trimmed;
}

/** Why `raw` cannot be a calendar address, in words for the field, or null. */
export async function calendarUrlProblem(
  raw: string,
  allowHosts: readonly string[],
  lookup: Lookup = systemLookup,
): Promise<string | null> {
  if (!/^(https?|webcals?):\/\//i.test(raw.trim())) return 'must start with https:// or webcal://';
  return webhookUrlProblem(normaliseCalendarUrl(raw), allowHosts, lookup);
}

export interface CachedRead {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export type CalendarFetch =
  | { changed: false }
  | { changed: true; text: string; etag: string | undefined; lastModified: string | undefined };

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** One GET of a calendar address, following at most 3 redirects, each checked as the address was. */
export async function fetchCalendar(
  address: string,
  cached: CachedRead,
  allowHosts: readonly string[],
): Promise<CalendarFetch> {
  const deadline = Date.now() + TIMEOUT_MS;
  let url = new URL(normaliseCalendarUrl(address));
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const allowed = allowHosts.includes(hostOf(url));
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed))
      throw new CalendarReadError('forbidden_address', 'not https');
    const answer = await get(url, cached, allowed, deadline);
    if (answer.status >= 300 && answer.status < 400 && answer.status !== 304) {
      if (!answer.location) throw new CalendarReadError('server_error', `HTTP ${answer.status} without Location`);
      url = new URL(answer.location, url);
      continue;
    }
    if (answer.status === 304) return { changed: false };
    if (answer.status === 401 || answer.status === 403) throw new CalendarReadError('refused', `HTTP ${answer.status}`);
    if (answer.status === 404 || answer.status === 410)
      throw new CalendarReadError('not_found', `HTTP ${answer.status}`);
    if (answer.status < 200 || answer.status >= 300)
      throw new CalendarReadError('server_error', `HTTP ${answer.status}`);
    const text = answer.body.toString('utf8');
    if (!/^\s*BEGIN:VCALENDAR/i.test(text)) throw new CalendarReadError('not_calendar');
    return { changed: true, text, etag: answer.etag, lastModified: answer.lastModified };
  }
  throw new CalendarReadError('redirects');
}

interface Answer {
  status: number;
  location: string | undefined;
  etag: string | undefined;
  lastModified: string | undefined;
  body: Buffer;
}

function get(url: URL, cached: CachedRead, allowed: boolean, deadline: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      accept: 'text/calendar, */*;q=0.5',
      'accept-encoding': 'identity',
      'user-agent': 'Liaison-Calendar/1',
    };
    if (cached.etag) headers['if-none-match'] = cached.etag;
    if (cached.lastModified) headers['if-modified-since'] = cached.lastModified;
    const fail = (error: CalendarReadError) => {
      clearTimeout(timer);
      request?.destroy();
      reject(error);
    };
    const remaining = Math.max(1, deadline - Date.now());
    const timer = setTimeout(() => fail(new CalendarReadError('timeout')), remaining);
    let request: ReturnType<typeof openOutbound> | undefined;
    try {
      request = openOutbound(url, { method: 'GET', headers, timeout: remaining }, allowed, respond);
    } catch (error) {
      if (error instanceof OutboundRefused) return fail(new CalendarReadError('forbidden_address', error.message));
      throw error;
    }
    function respond(response: IncomingMessage) {
      const status = response.statusCode ?? 0;
      const declared = Number(response.headers['content-length'] ?? 0);
      if (declared > MAX_BYTES) return fail(new CalendarReadError('too_large'));
      const chunks: Buffer[] = [];
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_BYTES) return fail(new CalendarReadError('too_large'));
        // Only a successful answer's body is kept; others are drained.
        if (status >= 200 && status < 300) chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(timer);
        const header = (name: string) => {
          const value = response.headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        resolve({
          status,
          location: header('location'),
          etag: header('etag'),
          lastModified: header('last-modified'),
          body: Buffer.concat(chunks),
        });
      });
      response.on('error', () => fail(new CalendarReadError('unreachable')));
    }
    request.on('timeout', () => fail(new CalendarReadError('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error instanceof CalendarReadError) return reject(error);
      reject(new CalendarReadError(error.code === 'EFORBIDDEN' ? 'forbidden_address' : 'unreachable', error.code));
    });
    request.end();
  });
}
