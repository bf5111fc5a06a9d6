import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalogues } from '../../src/text/i18n.js';
import { createTimeFormat, timeWords } from '../../src/time/format.js';
import { currentZoneName } from '../../src/time/zone.js';
import { TIME_ZONES, utcOffset, zoneGroups, zoneSummary } from '../../src/web/layout/zones.js';

// The time zone choice: current IANA names, each with its name and offset (issue 29, item 9).

/** The zones IANA lists as current, one per line of Debian tzdata's zone.tab (its third column). */
function zoneTab(): Set<string> {
  const lines = readFileSync('/usr/share/zoneinfo/zone.tab', 'utf8').split('\n');
  return new Set(lines.filter((line) => line && !line.startsWith('#')).map((line) => line.split('\t')[2] as string));
}

describe('the zones offered', () => {
  it('are all current IANA names (as zone.tab lists them), and UTC', () => {
    const current = zoneTab();
    expect(TIME_ZONES.filter((zone) => zone !== 'UTC' && !current.has(zone))).toEqual([]);
    expect(TIME_ZONES).toContain('UTC');
    expect(TIME_ZONES.length).toBeGreaterThan(400);
  });

  it('use the new names where a browser may report an old one', () => {
    for (const [old, now] of [
      ['Asia/Calcutta', 'Asia/Kolkata'],
      ['Europe/Kiev', 'Europe/Kyiv'],
      ['Asia/Saigon', 'Asia/Ho_Chi_Minh'],
      ['America/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ]) {
      expect(TIME_ZONES).not.toContain(old);
      expect(TIME_ZONES).toContain(now);
      expect(currentZoneName(old as string)).toBe(now);
    }
    expect(currentZoneName('Europe/London')).toBe('Europe/London');
  });
});

describe('each zone’s label', () => {
  const t = loadCatalogues().translator('en');
  const fmt = createTimeFormat('en-GB', 'Europe/London', timeWords(loadCatalogues().translator('en')));
  // 15 January 2027 (northern winter) and 15 July 2027 (northern summer), noon UTC.
  const JANUARY = Date.parse('2027-01-15T12:00:00Z');
  const JULY = Date.parse('2027-07-15T12:00:00Z');

  it('gives the offset from UTC at the instant, with a true minus sign', () => {
    expect(utcOffset('Asia/Kolkata', JANUARY)).toBe('UTC+05:30');
    expect(utcOffset('Asia/Kathmandu', JANUARY)).toBe('UTC+05:45');
    expect(utcOffset('America/St_Johns', JANUARY)).toBe('UTC\u221203:30');
    expect(utcOffset('Europe/London', JANUARY)).toBe('UTC');
    expect(utcOffset('Europe/London', JULY)).toBe('UTC+01:00');
    expect(utcOffset('Australia/Sydney', JANUARY)).toBe('UTC+11:00');
    expect(utcOffset('Australia/Sydney', JULY)).toBe('UTC+10:00');
  });

  it('names the zone as the pages do, and lists its place, grouped by area', () => {
    expect(zoneSummary(t, fmt, 'Asia/Shanghai', JANUARY)).toBe('China Standard Time (UTC+08:00)');
    expect(zoneSummary(t, fmt, 'Europe/London', JULY)).toBe('British Summer Time (UTC+01:00)');
    const groups = zoneGroups(t, fmt, JANUARY);
    const label = (zone: string) => groups.flatMap((group) => group.zones).find((entry) => entry.value === zone)?.label;
    expect(label('Asia/Kolkata')).toBe('Kolkata – India Standard Time (UTC+05:30)');
    expect(label('America/Argentina/Buenos_Aires')).toBe(
      'Buenos Aires, Argentina – Argentina Standard Time (UTC\u221203:00)',
    );
    expect(label('America/New_York')).toBe('New York – Eastern Standard Time (UTC\u221205:00)');
    expect(groups.map((group) => group.label)).toContain('Asia');
    expect(groups.find((group) => group.label === 'Asia')?.zones.every((zone) => zone.value.startsWith('Asia/'))).toBe(
      true,
    );
    expect(groups.flatMap((group) => group.zones).length).toBe(TIME_ZONES.length);
  });
});
