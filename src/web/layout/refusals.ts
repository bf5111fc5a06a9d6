import type { DomainError } from '../../errors.js';
import type { PageContext } from './page.js';

/**
 * Refusals the pages word from the catalogue (`rule.<code>`), students' and staff's alike. Any
 * other refusal reads `rule.other`: a service's own detail is English and written for the API's
 * problem+json, so it never reaches a page.
 */
export const RULES_WORDED = [
  'booking_limit_reached',
  'overlapping_booking',
  'too_many_companions',
  'session_started',
  'session_not_started',
  'session_in_future',
  'booking_cancelled',
  'same_slot',
  'mode_unavailable',
  'slot_unavailable',
  'outside_availability',
  'companion_not_invited',
  'no_companion',
  'not_a_booking',
  'librarian_required',
  'librarian_exists',
  'invalid_category',
  'invalid_cohort',
  'import_invalid',
  'cohort_invalid',
  'campaign_locked',
  'send_window_over',
  'send_window_too_short',
  'cohort_empty',
  'too_many_groups',
  'not_retryable',
  'validation_failed',
  'not_found',
  'forbidden',
  'rate_limited',
  'other',
] as const;

const WORDED = new Set<string>(RULES_WORDED);

/**
 * `error` in the viewer's language; `params` fills the sentences that take some ({limit}), and a
 * refusal that says when to retry gives {seconds}.
 */
export function refusalText(
  page: PageContext,
  error: DomainError,
  params: Record<string, string | number> = {},
): string {
  const seconds = error.extra.headers?.['retry-after'];
  return page.t(`rule.${WORDED.has(error.code) ? error.code : 'other'}`, {
    ...(seconds === undefined ? {} : { seconds }),
    ...params,
  });
}
