import { isIsoDate, isIsoInstant } from '../../http/validation.js';
import type { PageContext, PageError } from './page.js';

/** What the page forms accept, in one place. */
export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A real calendar date YYYY-MM-DD in the years the API accepts (1900–2200), as the API's `date` format. */
export const ISO_DATE = { test: (value: string): boolean => isIsoDate(value) };
/** An instant with its offset, in the years the API accepts, as the API's `date-time` format. */
export const INSTANT = { test: (value: string): boolean => isIsoInstant(value) };
export const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A time of day as people type it ("9:00", "09:00", "9.30") as HH:MM; null when it is not one. */
export function clockTime(value: string): string | null {
  const match = /^(\d{1,2})[:.](\d{2})$/.exec(value.trim());
  if (!match) return null;
  const [hours, minutes] = [Number(match[1]), Number(match[2])];
  if (hours > 23 || minutes > 59) return null;
  return `${String(hours).padStart(2, '0')}:${match[2]}`;
}

/**
 * A from/to date pair from a form (to empty means the same day), with the errors that name the
 * fields: used by librarians' time off and admins' closures alike.
 */
export function readDateRange(
  page: PageContext,
  fields: { from?: string | undefined; to?: string | undefined },
): { from: string; to: string; errors: PageError[] } {
  const from = fields.from ?? '';
  const to = fields.to?.trim() || from;
  const errors: PageError[] = [];
  if (!ISO_DATE.test(from)) errors.push({ field: 'from', message: page.t('staff.record.dateInvalid') });
  if (!ISO_DATE.test(to) || to < from) errors.push({ field: 'to', message: page.t('staff.timeOff.toInvalid') });
  return { from, to, errors };
}
