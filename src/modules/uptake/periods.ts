import { DateTime } from 'luxon';
import { addDays, formatCivilDate, parseCivilDate } from '../../time/zone.js';

/**
 * Labels of every week, month or academic year touching [from, to], in the same form the SQL
 * gives them (2027-W09, 2027-03, 2026/27), for filling empty groups.
 */
export function periodLabels(period: string, from: string, to: string, academicYearStartMonth: number): string[] {
  const labels = new Set<string>();
  for (let date = parseCivilDate(from); formatCivilDate(date) <= to; date = addDays(date, 1)) {
    if (period === 'month') labels.add(formatCivilDate(date).slice(0, 7));
    else if (period === 'year') {
      const startYear = date.month >= academicYearStartMonth ? date.year : date.year - 1;
      labels.add(`${startYear}/${String((startYear + 1) % 100).padStart(2, '0')}`);
    } else if (period === 'week') labels.add(DateTime.fromObject(date, { zone: 'UTC' }).toFormat("kkkk-'W'WW"));
  }
  return [...labels];
}
