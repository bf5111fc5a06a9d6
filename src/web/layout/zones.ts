import { DateTime } from 'luxon';
import type { Translate } from '../../text/i18n.js';
import type { TimeFormat } from '../../time/format.js';
import { currentZoneName, isCanonicalTimeZone } from '../../time/zone.js';

/** Current IANA names for the time zone choice (no Asia/Calcutta: Asia/Kolkata), and UTC, sorted. */
export const TIME_ZONES: string[] = [
  ...new Set(Intl.supportedValuesOf('timeZone').map(currentZoneName).filter(isCanonicalTimeZone).concat(['UTC'])),
].sort();

/** The IANA areas, in the order the choice lists them (each has a catalogue label). */
export const ZONE_REGIONS = [
  'Africa',
  'America',
  'Antarctica',
  'Arctic',
  'Asia',
  'Atlantic',
  'Australia',
  'Europe',
  'Indian',
  'Pacific',
  'UTC',
] as const;

/** The zone's offset from UTC at the instant, as people write it: "UTC+05:30", "UTC−03:00", "UTC". */
export function utcOffset(zone: string, atMs: number): string {
  const minutes = DateTime.fromMillis(atMs, { zone }).offset;
  if (minutes === 0) return 'UTC';
  const whole = Math.abs(minutes);
  const hours = String(Math.floor(whole / 60)).padStart(2, '0');
  return `UTC${minutes < 0 ? '\u2212' : '+'}${hours}:${String(whole % 60).padStart(2, '0')}`;
}

/** The zone named as the pages name it ("India Standard Time"), or null where Intl has only "GMT+7". */
function spokenName(fmt: TimeFormat, zone: string, atMs: number): string | null {
  const name = fmt.zoneName(atMs, zone);
  return /^(GMT|UTC)([+\u2212-]|$)/.test(name) ? null : name;
}

/** The zone a person is reading times in, for the footer: "India Standard Time (UTC+05:30)". */
export function zoneSummary(t: Translate, fmt: TimeFormat, zone: string, atMs: number): string {
  const name = spokenName(fmt, zone, atMs);
  const offset = utcOffset(zone, atMs);
  return name ? t('layout.zone.named', { name, offset }) : offset === 'UTC' ? 'UTC' : `${zone} (${offset})`;
}

export interface ZoneGroup {
  label: string;
  zones: { value: string; label: string }[];
}

/** "Buenos Aires, Argentina" for America/Argentina/Buenos_Aires. */
function placeOf(zone: string): string {
  return zone.split('/').slice(1).reverse().join(', ').replaceAll('_', ' ') || zone;
}

/**
 * Every zone a person can choose, grouped by area, each with its place, name and current offset
 * ("Kolkata – India Standard Time (UTC+05:30)"): what the choice page lists and its search matches.
 */
export function zoneGroups(t: Translate, fmt: TimeFormat, atMs: number): ZoneGroup[] {
  return ZONE_REGIONS.map((region) => ({
    label: t(`layout.zone.region.${region}`),
    zones: TIME_ZONES.filter((zone) => (region === 'UTC' ? zone === 'UTC' : zone.startsWith(`${region}/`))).map(
      (zone) => {
        const name = spokenName(fmt, zone, atMs);
        const offset = utcOffset(zone, atMs);
        const place = region === 'UTC' ? 'UTC' : placeOf(zone);
        return {
          value: zone,
          label: name
            ? t('layout.zone.option', { place, name, offset })
            : t('layout.zone.optionUnnamed', { place, offset }),
        };
      },
    ),
  })).filter((group) => group.zones.length > 0);
}
