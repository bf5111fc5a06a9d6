import type { FastifyRequest } from 'fastify';
import type { WebDeps } from '../deps.js';
import { pageContext } from '../layout/page.js';

/** What the admin pages use of the web front's services. */
export type AdminPageDeps = Pick<
  WebDeps,
  | 'availability'
  | 'bookings'
  | 'calendars'
  | 'campaigns'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'config'
  | 'imports'
  | 'librarians'
  | 'notifications'
  | 'people'
  | 'pools'
  | 'staffRecord'
  | 'terms'
  | 'waitlist'
>;

export type Form = Record<string, string | undefined>;

/** Rows left blank at the end of the categories and terms forms, for adding more. */
export const BLANK = 2;

/** The page context for an admin page. */
export function adminContext(deps: AdminPageDeps) {
  return (request: FastifyRequest) => pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
}
