import { DateTime } from 'luxon';

/**
 * Times as a person reads them, in their language and zone, always naming the zone
 * ("Tuesday 8 December 2026, 18:00 China Standard Time").
 */
export function createTimeFormat(locale: string, timeZone: string) {
  const at = (ms: number, zone = timeZone) => DateTime.fromMillis(ms, { zone }).setLocale(locale);
  const zoneName = (ms: number, zone = timeZone) => at(ms, zone).toFormat('ZZZZZ');
  return {
    locale,
    timeZone,
    zoneName,
    day: (ms: number, zone = timeZone) =>
      at(ms, zone).toLocaleString({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }),
    time: (ms: number, zone = timeZone) => at(ms, zone).toLocaleString({ hour: '2-digit', minute: '2-digit' }),
    /** The full date, time and zone: what a slot's accessible name says. */
    full: (ms: number, zone = timeZone) =>
      `${at(ms, zone).toLocaleString({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })}, ${at(ms, zone).toLocaleString({ hour: '2-digit', minute: '2-digit' })} ${zoneName(ms, zone)}`,
    span: (startMs: number, endMs: number, zone = timeZone) =>
      `${at(startMs, zone).toLocaleString({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })}, ${at(startMs, zone).toLocaleString({ hour: '2-digit', minute: '2-digit' })}–${at(endMs, zone).toLocaleString({ hour: '2-digit', minute: '2-digit' })} ${zoneName(startMs, zone)}`,
    /** YYYY-MM-DD of the instant in the zone, for grouping by day. */
    dateKey: (ms: number, zone = timeZone) => at(ms, zone).toISODate() as string,
  };
}

export type TimeFormat = ReturnType<typeof createTimeFormat>;
