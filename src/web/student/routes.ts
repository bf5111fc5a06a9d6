import type { FastifyInstance } from 'fastify';
import { bookingRoutes } from './booking.js';
import { findingRoutes } from './finding.js';
import { friendsRoutes } from './friends.js';
import { managingRoutes } from './managing.js';
import type { StudentPageDeps } from './shared.js';
import { waitlistPages } from './waitlist.js';

/** The student's journey: find a librarian, choose a time, book with a friend, manage it. */
export async function studentRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  await findingRoutes(app, deps);
  await bookingRoutes(app, deps);
  await managingRoutes(app, deps);
  await friendsRoutes(app, deps);
  await waitlistPages(app, deps);
}
