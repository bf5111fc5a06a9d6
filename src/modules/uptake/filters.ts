import { type SQL, sql } from 'drizzle-orm';
import { InvalidInput } from '../../errors.js';
import { addDays, formatCivilDate, localDaysToInstants, parseCivilDate } from '../../time/zone.js';
import type { Dimension } from '../categories/schemas.js';

/** Query keys that are not category filters, in any figures query (uptake, companion effect, feedback). */
const NOT_CATEGORIES = new Set([
  'companion',
  'from',
  'to',
  'groupBy',
  'librarianId',
  'faculty',
  'mode',
  'fill',
  'format',
  'disclosure',
  'by',
]);
const MAX_RANGE_DAYS = 366 * 10;

export function badQuery(pointer: string, message: string): InvalidInput {
  return new InvalidInput(`${pointer.slice(1)} ${message}.`, [{ pointer, in: 'query', message }]);
}

/**
 * The range and filters every set of figures takes (librarian, faculty, mode, friend and any
 * category), checked and turned into conditions over `bookings b`, `librarians l` and
 * `companion_bookings cb`; a bad one is a 400 naming it.
 */
export function bookingFilters(
  query: Record<string, unknown> & { from: string; to: string },
  definitions: Dimension[],
  zone: string,
): { conditions: SQL[]; categoryFilters: Record<string, string> } {
  if (query.to < query.from) throw badQuery('/to', 'must be on or after from');
  if (query.to > formatCivilDate(addDays(parseCivilDate(query.from), MAX_RANGE_DAYS))) {
    throw badQuery('/to', 'must be within ten years of from');
  }
  if (typeof query.companion === 'string') throw badQuery('/companion', 'is a filter of uptake figures only');
  const dimensions = definitions.map((dimension) => dimension.key);
  const categoryFilters = Object.entries(query).filter(([key]) => !NOT_CATEGORIES.has(key));
  for (const [key, value] of categoryFilters) {
    if (!dimensions.includes(key))
      throw badQuery(`/${key}`, `is not a filter or a category (${dimensions.join(', ')})`);
    if (typeof value !== 'string') throw badQuery(`/${key}`, 'must be a single value');
  }
  const { fromMs, toMs } = localDaysToInstants(query.from, query.to, zone);
  const conditions: SQL[] = [sql`b.starts_at >= ${new Date(fromMs)}`, sql`b.starts_at < ${new Date(toMs)}`];
  if (typeof query.librarianId === 'string') conditions.push(sql`b.librarian_id = ${query.librarianId}`);
  if (typeof query.faculty === 'string') conditions.push(sql`lower(l.faculty) = lower(${query.faculty})`);
  if (typeof query.mode === 'string') conditions.push(sql`b.mode = ${query.mode}`);
  if (typeof query.companion === 'boolean') conditions.push(sql`(cb.booking_id is not null) = ${query.companion}`);
  for (const [key, value] of categoryFilters)
    conditions.push(sql`b.student_categories ->> ${key} = ${value as string}`);
  return { conditions, categoryFilters: Object.fromEntries(categoryFilters) as Record<string, string> };
}
