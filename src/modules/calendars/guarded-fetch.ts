import type { IncomingMessage } from 'node:http';
import { OutboundRefused, openOutbound } from '../../http/outbound.js';
import { CalendarReadError, MAX_BYTES, TIMEOUT_MS } from './fetch.js';

// A fetch for the CalDAV client (tsdav takes one: its public `fetch` option) that keeps the
// webhooks' address rules: https only (http and private addresses for CALENDAR_ALLOW_HOSTS
// alone), the address checked again when connecting (so a name cannot be pointed at this machine
// later), at most 3 redirects each checked the same way, 10 s and 5 MB per request.

const MAX_REDIRECTS = 3;
const NULL_BODY = new Set([101, 204, 205, 304]);

/** What one CalDAV conversation saw: the worst answer, to say why it failed in the librarian's words. */
export interface FetchRecord {
  statuses: number[];
  /** Failures below HTTP (tsdav catches some and goes on: discovery tries several addresses). */
  errors: CalendarReadError[];
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

export function createGuardedFetch(allowHosts: readonly string[], record: FetchRecord): typeof fetch {
  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    try {
      return await follow();
    } catch (error) {
      if (error instanceof CalendarReadError) record.errors.push(error);
      throw error;
    }
    async function follow(): Promise<Response> {
      const method = (init.method ?? 'GET').toUpperCase();
      const headers = new Headers(init.headers);
      const body = typeof init.body === 'string' ? init.body : init.body == null ? undefined : String(init.body);
      for (let hop = 0; ; hop++) {
        const answer = await send(url, method, headers, body);
        record.statuses.push(answer.status);
        const location = answer.headers.get('location');
        if (answer.status >= 300 && answer.status < 400 && location && init.redirect !== 'manual') {
          if (hop >= MAX_REDIRECTS) throw new CalendarReadError('redirects');
          url = new URL(location, url);
          continue;
        }
        return answer;
      }
    }
  };

  function send(url: URL, method: string, headers: Headers, body: string | undefined): Promise<Response> {
    const allowed = allowHosts.includes(hostOf(url));
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) {
      return Promise.reject(new CalendarReadError('forbidden_address', 'not https'));
    }
    return new Promise((resolve, reject) => {
      const fail = (error: CalendarReadError) => {
        clearTimeout(timer);
        request?.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new CalendarReadError('timeout')), TIMEOUT_MS);
      const outgoing: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'Liaison-Calendar/1' };
      headers.forEach((value, name) => {
        outgoing[name] = value;
      });
      if (body !== undefined) outgoing['content-length'] = String(Buffer.byteLength(body));
      let request: ReturnType<typeof openOutbound> | undefined;
      try {
        request = openOutbound(url, { method, headers: outgoing, timeout: TIMEOUT_MS }, allowed, respond);
      } catch (error) {
        if (error instanceof OutboundRefused) return fail(new CalendarReadError('forbidden_address', error.message));
        throw error;
      }
      function respond(response: IncomingMessage) {
        const chunks: Buffer[] = [];
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BYTES) return fail(new CalendarReadError('too_large'));
          chunks.push(chunk);
        });
        response.on('end', () => {
          clearTimeout(timer);
          const status = response.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value === undefined) continue;
            for (const one of [value].flat()) responseHeaders.append(name, one);
          }
          resolve(
            new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), {
              status: status < 200 ? 502 : status,
              headers: responseHeaders,
            }),
          );
        });
        response.on('error', () => fail(new CalendarReadError('unreachable')));
      }
      request.on('timeout', () => fail(new CalendarReadError('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new CalendarReadError(error.code === 'EFORBIDDEN' ? 'forbidden_address' : 'unreachable', error.code));
      });
      request.end(body);
    });
  }

  return guarded as typeof fetch;
}

/** Why a CalDAV conversation failed, from what it saw: a refusal (401/403) is the likeliest cause. */
export function caldavError(error: unknown, record: FetchRecord): CalendarReadError {
  if (error instanceof CalendarReadError) return error;
  const below = record.errors[0];
  if (record.statuses.length === 0 && below) return below;
  if (record.statuses.some((status) => status === 401 || status === 403)) return new CalendarReadError('refused');
  if (record.statuses.some((status) => status === 404)) return new CalendarReadError('not_found');
  if (record.statuses.some((status) => status >= 500)) return new CalendarReadError('server_error');
  return new CalendarReadError('not_calendar', 'no calendars found');
}
