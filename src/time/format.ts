import { DateTime } from 'luxon';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Intl formatters are costly to build and cheap to use: one per locale, zone and shape. */
function formatter(locale: string, timeZone: string, shape: 'day' | 'time' | 'zone'): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${shape}`;
  let found = formatters.get(key);
  if (!found) {
    const options: Intl.DateTimeFormatOptions =
      shape === 'day'
        ? { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }
        : shape === 'time'
          ? { hour: '2-digit', minute: '2-digit' }
          : { timeZoneName: 'long' };
    found = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    formatters.set(key, found);
  }
  return found;
}

/** How a language joins a date, a time and a zone's name: messages `time.at`, `time.span` and `time.range`. */
export interface TimeWords {
  at: (parts: { day: string; time: string; zone: string }) => string;
  span: (parts: { day: string; start: string; end: string; zone: string }) => string;
  range: (parts: { from: string; to: string }) => string;
}

/** The joining words of a catalogue (every word a person reads comes from one). */
export function timeWords(t: (key: string, params: Record<string, string>) => string): TimeWords {
  return {
    at: (parts) => t('time.at', parts),
    span: (parts) => t('time.span', parts),
    range: (parts) => t('time.range', parts),
  };
}

/**
 * Times as a person reads them, in their language and zone, always naming the zone
 * ("Tuesday, 8 December 2026, 18:00 China Standard Time"; "2026年12月8日星期二 18:00 中国标准时间").
 */
export function createTimeFormat(locale: string, timeZone: string, words: TimeWords) {
  const day = (ms: number, zone = timeZone) => formatter(locale, zone, 'day').format(ms);
  const time = (ms: number, zone = timeZone) => formatter(locale, zone, 'time').format(ms);
  const zoneName = (ms: number, zone = timeZone) =>
    formatter(locale, zone, 'zone')
      .formatToParts(ms)
      .find((part) => part.type === 'timeZoneName')?.value ?? zone;
  return {
    locale,
    timeZone,
    zoneName,
    day,
    time,
    /** The full date, time and zone: what a slot's accessible name says. */
    full: (ms: number, zone = timeZone) =>
      words.at({ day: day(ms, zone), time: time(ms, zone), zone: zoneName(ms, zone) }),
    span: (startMs: number, endMs: number, zone = timeZone) =>
      words.span({
        day: day(startMs, zone),
        start: time(startMs, zone),
        end: time(endMs, zone),
        zone: zoneName(startMs, zone),
      }),
    /**
     * A stretch of time off or a closure, readable: whole dates ("Monday, 22 March 2027 – Friday,
     * 26 March 2027", one date when it is one day), or instants in the zone, with its name.
     */
    period: (from: string, to: string, allDay: boolean) => {
      if (allDay) {
        // Whole local dates: the calendar date itself, whatever the viewer's zone.
        const date = (iso: string) => day(Date.parse(`${iso}T12:00:00Z`), 'UTC');
        return from === to ? date(from) : words.range({ from: date(from), to: date(to) });
      }
      const [startMs, endMs] = [Date.parse(from), Date.parse(to)];
      const at = (ms: number) => words.at({ day: day(ms), time: time(ms), zone: zoneName(ms) });
      return day(startMs) === day(endMs)
        ? words.span({ day: day(startMs), start: time(startMs), end: time(endMs), zone: zoneName(startMs) })
        : words.range({ from: at(startMs), to: at(endMs) });
    },
    /** YYYY-MM-DD of the instant in the zone, for grouping by day. */
    dateKey: (ms: number, zone = timeZone) => DateTime.fromMillis(ms, { zone }).toISODate() as string,
  };
}

export type TimeFormat = ReturnType<typeof createTimeFormat>;
