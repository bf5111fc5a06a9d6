import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../time/clock.js';
import type { AvailabilityService } from '../availability/service.js';
import type { CategoryService } from '../categories/service.js';
import type { LibrarianService } from '../librarians/service.js';
import type { OutboxSettings } from '../notifications/outbox.js';

/** What the booking service and its parts (creation, changes, attendance, queries) are given. */
export interface BookingServiceDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxSettings;
  config: Pick<Config, 'publicUrl' | 'bookingLimitPerStudent' | 'libraryTimeZone'>;
  librarians: LibrarianService;
  availability: AvailabilityService;
  categories: CategoryService;
}
