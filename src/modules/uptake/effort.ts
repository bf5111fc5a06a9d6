import { and, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows.js';
import { COMPANION_BOOKINGS, type UptakeDeps } from './aggregation.js';
import { byValueAndCompanion } from './by-companion.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from './disclosure.js';
import { badQuery, bookingFilters } from './filters.js';
import type { CompanionEffectQuery, EffortGroup, EffortReport } from './schemas.js';
import { meanWithInterval } from './statistics.js';

/**
 * Do sessions with a friend take more or less of the librarian's effort? The READ scale (1 least
 * to 6 most) recorded with attendance, per value of one category, with and without a friend: how
 * many were rated, how many at each level, and the mean with its 95% Student's t interval.
 */
export function createEffortFigures(deps: UptakeDeps) {
  return async function effort(query: CompanionEffectQuery): Promise<EffortReport & { studentCounts: number[] }> {
    const definitions = await deps.categories.listDimensions();
    const keys = definitions.map((dimension) => dimension.key);
    if (!keys.includes(query.by)) throw badQuery('/by', `must be one of ${keys.join(', ')}`);
    const hesa = query.disclosure === 'hesa';
    const { conditions } = bookingFilters(query, definitions, deps.config.libraryTimeZone);
    const rated = await rowsOf<{ value: string | null; with_companion: boolean; effort: number; student: string }>(
      deps.db,
      sql`
      with companion_bookings as (${COMPANION_BOOKINGS})
      select b.student_categories ->> ${query.by} as value, (cb.booking_id is not null) as with_companion,
        b.effort::int as effort, b.student_ref as student
      from bookings b
      left join librarians l on l.id = b.librarian_id
      left join companion_bookings cb on cb.booking_id = b.id
      where ${and(...conditions)} and b.status = 'confirmed' and b.effort is not null`,
    );
    const group = (rows: typeof rated): EffortGroup => {
      const n = rows.length;
      const shown = n > 0 && (!hesa || n >= HESA_MIN_DENOMINATOR);
      const { mean, ci95 } = meanWithInterval(rows.map((row) => row.effort));
      const count = (value: number) => (hesa ? roundHesa(value) : value);
      return {
        rated: count(n),
        distribution: [1, 2, 3, 4, 5, 6].map((level) => count(rows.filter((row) => row.effort === level).length)),
        mean: shown ? mean : null,
        meanCi95: shown ? ci95 : null,
      };
    };
    const split = byValueAndCompanion(
      rated,
      definitions.find((dimension) => dimension.key === query.by)?.values.map((value) => value.value) ?? [],
      group,
    );
    return {
      from: query.from,
      to: query.to,
      by: query.by,
      disclosure: hesa ? 'hesa' : 'none',
      rows: split.rows,
      totals: split.totals,
      studentCounts: split.values.map(
        (value) => new Set(rated.filter((row) => row.value === value).map((row) => row.student)).size,
      ),
    };
  };
}
