import { DateTime, IANAZone } from 'luxon';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY_MS = 24 * HOUR;

/** A calendar date, independent of any zone. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The IANA areas of canonical Area/Location names (Etc/, US/ and other legacy links are left out). */
const IANA_AREAS =
  /^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)\/[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)?$/;

/**
 * Only canonical IANA names (Area/Location) and UTC. Abbreviations are refused even where luxon
 * knows one: "CST" means US Central to it, China Standard Time to a student in Shanghai.
 */
export function isCanonicalTimeZone(zone: string): boolean {
  if (zone !== 'UTC' && !IANA_AREAS.test(zone)) return false;
  // luxon tries each name with a new Intl.DateTimeFormat: remember the (few hundred) real zones.
  if (validZones.has(zone)) return true;
  const valid = IANAZone.isValidZone(zone);
  if (valid) validZones.add(zone);
  return valid;
}

const validZones = new Set<string>();

/**
 * Names Intl (ICU) still reports that IANA has since renamed, from IANA's `backward` file: a
 * person looks for Kolkata, Kyiv and Ho Chi Minh, not Calcutta, Kiev and Saigon.
 */
const RENAMED_ZONES: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

/** A zone's current IANA name (a browser may still report Asia/Calcutta for Asia/Kolkata). */
export function currentZoneName(zone: string): string {
  return Object.hasOwn(RENAMED_ZONES, zone) ? (RENAMED_ZONES[zone] as string) : zone;
}

export const TIME_ZONE_HINT =
  'must be an IANA time zone name such as Asia/Shanghai or Europe/London (abbreviations such as CST are ambiguous)';

export function parseCivilDate(iso: string): CivilDate {
  const [year, month, day] = iso.split('-').map(Number) as [number, number, number];
  return { year, month, day };
}

export function formatCivilDate({ year, month, day }: CivilDate): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export function addDays({ year, month, day }: CivilDate, days: number): CivilDate {
  const shifted = new Date(Date.UTC(year, month - 1, day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export function isoWeekday({ year, month, day }: CivilDate): number {
  return ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
}

export function civilDateAt(instantMs: number, zone: string): CivilDate {
  // Often an instant that never comes again (now plus a notice): the offset through its UTC day,
  // from the day's two remembered midnights, rather than a new entry per instant in `offsets`.
  const ianaZone = IANAZone.create(zone);
  const offset = offsetThroughDay(ianaZone, Math.floor(instantMs / DAY_MS)) ?? ianaZone.offset(instantMs);
  const local = new Date(instantMs + offset * MINUTE);
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() };
}

/** Offsets remembered at most, across zones; all are forgotten when full. */
const OFFSETS_REMEMBERED = 20_000;
const offsets = new Map<string, Map<number, number>>();
let offsetsRemembered = 0;

/**
 * `zone`'s offset from UTC (minutes) at an instant: luxon's IANAZone.offset, which formats the
 * instant with Intl every time (~15% of a slot request's CPU), remembered per instant. Exact: a
 * zone's offset at a given instant does not change while the process runs, and the instants asked
 * for (midnights of the days a page or request names) repeat from one request to the next. The
 * bisections that find a clock change probe one-off instants and ask luxon directly.
 */
function offsetAt(zone: IANAZone, instantMs: number): number {
  let byInstant = offsets.get(zone.name);
  if (!byInstant) {
    byInstant = new Map();
    offsets.set(zone.name, byInstant);
  }
  let offset = byInstant.get(instantMs);
  if (offset === undefined) {
    offset = zone.offset(instantMs);
    if (offsetsRemembered >= OFFSETS_REMEMBERED) {
      for (const remembered of offsets.values()) remembered.clear();
      offsetsRemembered = 0;
    }
    byInstant.set(instantMs, offset);
    offsetsRemembered++;
  }
  return offset;
}

/** "HH:mm" -> minutes after midnight. */
export function minutesOfDay(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
}

/**
 * The instant at which the wall clock in `zone` reads `minutes` after midnight on `date`.
 *
 * Deliberate choices for the two DST edge cases:
 * - a time inside a spring-forward gap does not exist; it resolves to the end of the gap (the
 *   first instant whose wall time is later), so a window starting or ending in the gap is shortened;
 * - a time in an autumn repeat exists twice; `repeated` picks which occurrence (windows in
 *   slots.ts use both, so that a window holds only instants whose wall time falls inside it).
 */
export function instantOfWallTime(
  date: CivilDate,
  minutes: number,
  zone: string,
  repeated: 'earlier' | 'later' = 'earlier',
): number {
  const ianaZone = IANAZone.create(zone);
  const wallAsUtc = Date.UTC(date.year, date.month - 1, date.day) + minutes * MINUTE;
  // Offsets (minutes) in force well before and after; equal on all but transition days.
  const offsetBefore = offsetAt(ianaZone, wallAsUtc - 26 * HOUR);
  const offsetAfter = offsetAt(ianaZone, wallAsUtc + 26 * HOUR);
  if (offsetBefore === offsetAfter) {
    const candidate = wallAsUtc - offsetBefore * MINUTE;
    if (offsetAt(ianaZone, candidate) === offsetBefore) return candidate;
  }
  const candidates = [...new Set([offsetBefore, offsetAfter])]
    .map((offset) => wallAsUtc - offset * MINUTE)
    .filter((candidate) => wallAsUtc - offsetAt(ianaZone, candidate) * MINUTE === candidate)
    .sort((a, b) => a - b);
  if (candidates.length > 0) {
    return (repeated === 'earlier' ? candidates[0] : candidates[candidates.length - 1]) as number;
  }
  // In a gap: find the transition, the first instant after which the wall clock has passed `minutes`.
  let low = wallAsUtc - Math.max(offsetBefore, offsetAfter) * MINUTE;
  let high = wallAsUtc - Math.min(offsetBefore, offsetAfter) * MINUTE;
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
    if (ianaZone.offset(middle) === offsetBefore) low = middle;
    else high = middle;
  }
  return high;
}

/** The first instant in (fromMs, toMs] at which `zone`'s offset differs from its offset at fromMs. */
export function offsetChangeBetween(fromMs: number, toMs: number, zone: string): number {
  const ianaZone = IANAZone.create(zone);
  const initial = offsetAt(ianaZone, fromMs);
  let low = fromMs;
  let high = toMs;
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
    if (ianaZone.offset(middle) === initial) low = middle;
    else high = middle;
  }
  return high;
}

/** The first instant of a calendar date in `zone` (midnight, or the end of a gap that swallows it). */
export function startOfCivilDate(date: CivilDate, zone: string): number {
  return instantOfWallTime(date, 0, zone, 'earlier');
}

/** The instants spanning whole local days `from`..`to` (inclusive) in `zone`: [start of from, start of the day after to). */
export function localDaysToInstants(from: string, to: string, zone: string): { fromMs: number; toMs: number } {
  // Asked for the same few ranges by every request (a pool asks once per librarian): remembered.
  const key = `${from} ${to} ${zone}`;
  let found = dayRanges.get(key);
  if (!found) {
    found = {
      fromMs: startOfCivilDate(parseCivilDate(from), zone),
      toMs: startOfCivilDate(addDays(parseCivilDate(to), 1), zone),
    };
    if (dayRanges.size >= DAY_RANGES_REMEMBERED) dayRanges.clear();
    dayRanges.set(key, found);
  }
  return { fromMs: found.fromMs, toMs: found.toMs };
}

/** Day ranges remembered at most; all are forgotten when full. */
const DAY_RANGES_REMEMBERED = 1000;
const dayRanges = new Map<string, { fromMs: number; toMs: number }>();

/** An instant as ISO 8601 in `zone`, with its offset: "2027-03-02T09:00:00+00:00" (luxon's form). */
export function formatInstant(instantMs: number, zone: string): string {
  const ianaZone = IANAZone.create(zone);
  if (zone === 'UTC' || !ianaZone.isValid || instantMs % 1000 !== 0) return luxonIso(instantMs, zone);
  const offset = offsetThroughDay(ianaZone, Math.floor(instantMs / DAY_MS)) ?? ianaZone.offset(instantMs);
  return isoWithOffset(instantMs, offset);
}

/**
 * The offset in force all through UTC day `day` (days since the epoch), from its two midnights
 * (instants that repeat across requests, so remembered), or null on a day the clocks change.
 */
function offsetThroughDay(zone: IANAZone, day: number): number | null {
  const atStart = offsetAt(zone, day * DAY_MS);
  return atStart === offsetAt(zone, (day + 1) * DAY_MS) ? atStart : null;
}

function luxonIso(instantMs: number, zone: string): string {
  return DateTime.fromMillis(instantMs, { zone }).toISO({ suppressMilliseconds: true }) as string;
}

/** A whole-second instant as local time at `offsetMinutes` from UTC, with that offset. */
function isoWithOffset(instantMs: number, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  const pad = (value: number) => String(value).padStart(2, '0');
  const local = new Date(instantMs + offsetMinutes * MINUTE).toISOString().slice(0, 19);
  return `${local}${sign}${pad(Math.floor(absolute / 60))}:${pad(absolute % 60)}`;
}

/**
 * formatInstant for many instants in one zone (a slot list formats thousands): the same strings,
 * but on a UTC day whose offset does not change (all but a few a year) each instant is plain
 * arithmetic after two offset look-ups for the day. Zones luxon treats as fixed (UTC) keep luxon.
 */
export function instantFormatter(zone: string): (instantMs: number) => string {
  const ianaZone = IANAZone.create(zone);
  if (zone === 'UTC' || !ianaZone.isValid) return (instantMs) => luxonIso(instantMs, zone);
  const dayOffsets = new Map<number, number | null>();
  return (instantMs) => {
    if (instantMs % 1000 !== 0) return luxonIso(instantMs, zone);
    const day = Math.floor(instantMs / DAY_MS);
    let offset = dayOffsets.get(day);
    if (offset === undefined) {
      offset = offsetThroughDay(ianaZone, day);
      dayOffsets.set(day, offset);
    }
    return isoWithOffset(instantMs, offset ?? ianaZone.offset(instantMs));
  };
}

/**
 * instantOfWallTime for many times in one zone: on a day whose offset does not change (all but
 * a few a year) the answer is plain arithmetic, so each local date costs two offset look-ups.
 */
export function wallClockResolver(zone: string) {
  const ianaZone = IANAZone.create(zone);
  const constantOffsets = new Map<number, number | null>();
  return (date: CivilDate, minutes: number, repeated: 'earlier' | 'later' = 'earlier'): number => {
    const midnightAsUtc = Date.UTC(date.year, date.month - 1, date.day);
    let offset = constantOffsets.get(midnightAsUtc);
    if (offset === undefined) {
      // Local days lie between UTC-12 and UTC+14: these two instants bracket any zone's day.
      const before = offsetAt(ianaZone, midnightAsUtc - 14 * HOUR);
      const after = offsetAt(ianaZone, midnightAsUtc + 36 * HOUR);
      offset = before === after ? before : null;
      constantOffsets.set(midnightAsUtc, offset);
    }
    return offset === null
      ? instantOfWallTime(date, minutes, zone, repeated)
      : midnightAsUtc + minutes * MINUTE - offset * MINUTE;
  };
}
