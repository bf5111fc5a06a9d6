import type { WebDeps } from '../deps.js';

/** What the staff pages use of the web front's services. */
export type StaffPageDeps = Pick<
  WebDeps,
  | 'availability'
  | 'bookings'
  | 'calendar'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'config'
  | 'librarians'
  | 'waitlist'
>;

export type Form = Record<string, string | undefined>;
