import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A librarian's own calendar as Outlook or Google would publish it, for Ada
 * (ada@library.uni.example, Europe/London), in March 2027. What each event means for her time:
 * - weekly team meeting, Mondays 09:00 London (VTIMEZONE in the file), 6 from 1 March: 8 March moved
 *   to 11:00, 15 March removed (EXDATE), 22 March cancelled (override), 29 March after the UK
 *   clock change (09:00 BST = 08:00 UTC);
 * - a "free" (transparent) event, Wednesday 3 March 11:00: not busy;
 * - all day Friday 5 March marked busy: busy; all day Friday 12 March marked free: not busy;
 * - a call at 05:00 New York time (a TZID with no VTIMEZONE), Wednesdays from 3 March, 4 of them:
 *   10:00 UTC before the US change on 14 March, 09:00 UTC after;
 * - a meeting she declined, Friday 19 March 10:00 UTC: not busy; one she accepted, Friday 26 March
 *   10:00 UTC: busy;
 * - Liaison's own event for one of her bookings (UID …@liaison), Friday 19 March 09:00: never
 *   counted (the booking itself holds that time).
 */
export const ADA_CALENDAR = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Tests//Liaison//EN',
  'BEGIN:VTIMEZONE',
  'TZID:Europe/London',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0000',
  'TZOFFSETTO:+0100',
  'TZNAME:BST',
  'DTSTART:19810329T010000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0000',
  'TZNAME:GMT',
  'DTSTART:19961027T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:weekly-team@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Team meeting',
  'DTSTART;TZID=Europe/London:20270301T090000',
  'DTEND;TZID=Europe/London:20270301T100000',
  'RRULE:FREQ=WEEKLY;COUNT=6',
  'EXDATE;TZID=Europe/London:20270315T090000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:weekly-team@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Team meeting (moved)',
  'RECURRENCE-ID;TZID=Europe/London:20270308T090000',
  'DTSTART;TZID=Europe/London:20270308T110000',
  'DTEND;TZID=Europe/London:20270308T120000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:weekly-team@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Team meeting',
  'RECURRENCE-ID;TZID=Europe/London:20270322T090000',
  'DTSTART;TZID=Europe/London:20270322T090000',
  'DTEND;TZID=Europe/London:20270322T100000',
  'STATUS:CANCELLED',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:transparent@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Reading time',
  'DTSTART;TZID=Europe/London:20270303T110000',
  'DTEND;TZID=Europe/London:20270303T120000',
  'TRANSP:TRANSPARENT',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:allday-busy@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Away day',
  'DTSTART;VALUE=DATE:20270305',
  'DTEND;VALUE=DATE:20270306',
  'TRANSP:OPAQUE',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:allday-free@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Open day on campus',
  'DTSTART;VALUE=DATE:20270312',
  'DTEND;VALUE=DATE:20270313',
  'TRANSP:TRANSPARENT',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:ny-call@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Call with New York',
  'DTSTART;TZID=America/New_York:20270303T050000',
  'DTEND;TZID=America/New_York:20270303T060000',
  'RRULE:FREQ=WEEKLY;COUNT=4',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:declined@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Committee',
  'DTSTART:20270319T100000Z',
  'DTEND:20270319T110000Z',
  'ORGANIZER:mailto:chair@uni.example',
  'ATTENDEE;PARTSTAT=DECLINED:mailto:ada@library.uni.example',
  'ATTENDEE;PARTSTAT=ACCEPTED:mailto:someone@uni.example',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:accepted@uni.example',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Faculty board',
  'DTSTART:20270326T100000Z',
  'DTEND:20270326T110000Z',
  'ORGANIZER:mailto:chair@uni.example',
  'ATTENDEE;PARTSTAT=ACCEPTED:mailto:Ada@Library.Uni.Example',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:0b7f4a52-3c1d-4e0a-9f1e-6a2b8c9d0e1f@liaison',
  'DTSTAMP:20270101T000000Z',
  'SUMMARY:Library session with wei',
  'DTSTART:20270319T090000Z',
  'DTEND:20270319T100000Z',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

/** A small HTTP server on 127.0.0.1 serving a calendar address, with ETag, counting its requests. */
export async function serveCalendar(initial: string, port = 0) {
  const state = { body: initial, etag: '"v1"', version: 1, requests: [] as { ifNoneMatch: string | undefined }[] };
  /** A path the test can point at other answers: /html, /huge, /missing, /redirect-loop, /private. */
  const server = http.createServer((request, response) => {
    state.requests.push({ ifNoneMatch: request.headers['if-none-match'] });
    const path = request.url ?? '/';
    if (path === '/html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      return response.end('<!doctype html><title>Sign in</title><p>Sign in to see this calendar</p>');
    }
    if (path === '/huge') {
      response.writeHead(200, { 'content-type': 'text/calendar' });
      const chunk = Buffer.alloc(1024 * 1024, 'X');
      response.write('BEGIN:VCALENDAR\r\n');
      for (let index = 0; index < 20; index++) response.write(chunk);
      return response.end();
    }
    if (path === '/missing') {
      response.writeHead(404);
      return response.end();
    }
    if (path === '/garbled') {
      response.writeHead(200, { 'content-type': 'text/calendar' });
      return response.end('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:not-a-date\r\nEND:VCALENDAR\r\n');
    }
    if (path === '/redirect') {
      response.writeHead(302, { location: '/calendar.ics' });
      return response.end();
    }
    if (request.headers['if-none-match'] === state.etag) {
      response.writeHead(304, { etag: state.etag });
      return response.end();
    }
    response.writeHead(200, { 'content-type': 'text/calendar; charset=utf-8', etag: state.etag });
    response.end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const listening = (server.address() as AddressInfo).port;
  return {
    port: listening,
    url: (path = '/calendar.ics') => `http://127.0.0.1:${listening}${path}`,
    state,
    /** Replaces the calendar, with a new ETag. */
    publish(body: string) {
      state.version++;
      state.body = body;
      state.etag = `"v${state.version}"`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
