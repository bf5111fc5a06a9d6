import { and, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import { InvalidInput } from '../../errors.js';
import type { CategoryService } from '../categories/service.js';
import { byValueAndCompanion } from '../uptake/by-companion.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from '../uptake/disclosure.js';
import { bookingFilters } from '../uptake/filters.js';
import { COMPANION_BOOKINGS } from '../uptake/service.js';
import { meanWithInterval, rate, wilsonInterval } from '../uptake/statistics.js';
import type { FeedbackQuery, NervesGroup, NervesReport } from './schemas.js';

/**
 * Did nerves fall? For students who answered both: how they felt about the session when booking
 * (the check page's question) and how they feel about such sessions after it (the feedback
 * form's), on the same five points (1 not at all nervous … 5 very nervous). Per value of one
 * category, with and without a friend: the mean before and after, the mean change with a 95% t
 * interval, and the share whose nerves fell with a Wilson interval.
 */
export function createNervesFigures(deps: {
  db: Database;
  config: Pick<Config, 'libraryTimeZone'>;
  categories: CategoryService;
}) {
  return async function nerves(query: FeedbackQuery): Promise<NervesReport & { studentCounts: number[] }> {
    const definitions = await deps.categories.listDimensions();
    const dimension = definitions.find((candidate) => candidate.key === query.by);
    if (!dimension) {
      const keys = definitions.map((d) => d.key).join(', ');
      throw new InvalidInput(`by must be one of ${keys}.`, [
        { pointer: '/by', in: 'query', message: `must be one of ${keys}` },
      ]);
    }
    const hesa = query.disclosure === 'hesa';
    const { conditions } = bookingFilters(query, definitions, deps.config.libraryTimeZone);
    const pairs = await rowsOf<{ value: string | null; with_companion: boolean; before: number; after: number }>(
      deps.db,
      sql`
      with companion_bookings as (${COMPANION_BOOKINGS})
      select b.student_categories ->> ${query.by} as value, (cb.booking_id is not null) as with_companion,
        b.nerves_before::int as before, r.nerves_now::int as after
      from bookings b
      join feedback_requests fr on fr.booking_id = b.id and fr.respondent = 'student'
      join feedback_responses r on r.request_id = fr.id
      left join librarians l on l.id = b.librarian_id
      left join companion_bookings cb on cb.booking_id = b.id
      where ${and(...conditions)} and b.nerves_before is not null and r.nerves_now is not null`,
    );
    const group = (rows: typeof pairs): NervesGroup => {
      const n = rows.length;
      const shown = n > 0 && (!hesa || n >= HESA_MIN_DENOMINATOR);
      const fell = rows.filter((row) => row.after < row.before).length;
      const change = meanWithInterval(rows.map((row) => row.after - row.before));
      const mean = (values: number[]) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null);
      return {
        pairs: hesa ? roundHesa(n) : n,
        meanBefore: shown ? mean(rows.map((row) => row.before)) : null,
        meanAfter: shown ? mean(rows.map((row) => row.after)) : null,
        meanChange: shown ? change.mean : null,
        meanChangeCi95: shown ? change.ci95 : null,
        fell: hesa ? roundHesa(fell) : fell,
        fellShare: shown ? rate(fell, n) : null,
        fellShareCi95: shown ? wilsonInterval(fell, n) : null,
      };
    };
    const split = byValueAndCompanion(
      pairs,
      dimension.values.map((value) => value.value),
      group,
    );
    return {
      from: query.from,
      to: query.to,
      by: query.by,
      disclosure: hesa ? 'hesa' : 'none',
      rows: split.rows,
      totals: split.totals,
      studentCounts: split.values.map((value) => pairs.filter((row) => row.value === value).length),
    };
  };
}
