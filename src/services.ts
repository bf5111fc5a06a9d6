import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { createAvailabilityService } from './modules/availability/service.js';
import { createCompanionService } from './modules/bookings/companions.js';
import { librarianBusyRanges } from './modules/bookings/repository.js';
import { createBookingService } from './modules/bookings/service.js';
import { createCalendarService } from './modules/calendar/service.js';
import { calendarBusyRanges } from './modules/calendars/busy-ranges.js';
import { createSecretBox } from './modules/calendars/secrets.js';
import { createCalendarConnections } from './modules/calendars/service.js';
import { createCampaignResults } from './modules/campaigns/results.js';
import { createCampaignService } from './modules/campaigns/service.js';
import { createCategoryService } from './modules/categories/service.js';
import { createTermService } from './modules/categories/terms.js';
import { createFeedbackService } from './modules/feedback/service.js';
import { createLibrarianService } from './modules/librarians/service.js';
import { createNotificationService } from './modules/notifications/service.js';
import { createPeopleService } from './modules/people/service.js';
import { createPoolService } from './modules/pools/service.js';
import { createStaffRecord } from './modules/staff-record/service.js';
import { createImportService } from './modules/uptake/imports.js';
import { createUptakeService } from './modules/uptake/service.js';
import { eraseWaitlistFor } from './modules/waitlist/erasure.js';
import { waitlistHolds } from './modules/waitlist/holds.js';
import { createWaitlistService } from './modules/waitlist/service.js';
import { createWebhookService } from './modules/webhooks/service.js';
import { loadCatalogues } from './text/i18n.js';
import type { Clock } from './time/clock.js';

/**
 * Every module's service, made once on one database and clock: what the API routes and the pages
 * (buildApp, app.ts) are given. The order is the order they depend on each other.
 */
export function createServices({
  db,
  clock,
  config,
  messagesDir,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  /** The message catalogues (tests add a language this way). */
  messagesDir?: string | undefined;
}) {
  const librarians = createLibrarianService({ db, clock, config });
  const availability = createAvailabilityService({
    db,
    clock,
    config,
    librarians,
    busyRanges: [librarianBusyRanges, calendarBusyRanges, waitlistHolds],
  });
  const categories = createCategoryService({ db, clock });
  const outbox = {
    reminderHours: config.reminderHours,
    feedbackDelayHours: config.feedbackDelayHours,
    messageIdDomain: new URL(config.publicUrl).hostname,
    emailsPerBookingPerHour: config.emailsPerBookingPerHour,
  };
  const bookings = createBookingService({ db, clock, config, outbox, librarians, availability, categories });
  const pools = createPoolService({ db, clock, config, availability, bookings });
  const waitlist = createWaitlistService({ db, clock, config, availability, bookings, categories, pools });
  const companions = createCompanionService({ db, clock, config, outbox, librarians, categories });
  const notifications = createNotificationService({ db, clock });
  const catalogues = loadCatalogues(messagesDir);
  const calendar = createCalendarService({ db, clock, config, catalogues });
  const terms = createTermService({ db, clock, categories });
  const uptake = createUptakeService({ db, clock, config, categories });
  const imports = createImportService({ db, clock, categories });
  const feedback = createFeedbackService({ db, clock, config, categories });
  const webhooks = createWebhookService({ db, clock, config });
  const staffRecord = createStaffRecord({ db, clock });
  const calendars = createCalendarConnections({
    db,
    clock,
    config,
    secrets: config.calendarSecretKey ? createSecretBox(config.calendarSecretKey) : undefined,
    translate: catalogues.translator('en'),
  });
  const campaigns = createCampaignService({
    db,
    clock,
    config,
    categories,
    messageIdDomain: outbox.messageIdDomain,
  });
  const campaignResults = createCampaignResults({ db, clock, campaigns, catalogues });
  const people = createPeopleService({
    db,
    clock,
    config,
    cancelAsAdmin: (bookingId, admin) => bookings.cancel(bookingId, { user: admin, manageToken: null }, {}),
    erasers: [eraseWaitlistFor],
  });

  return {
    outbox,
    librarians,
    availability,
    categories,
    bookings,
    pools,
    waitlist,
    companions,
    notifications,
    catalogues,
    calendar,
    terms,
    uptake,
    imports,
    feedback,
    webhooks,
    people,
    staffRecord,
    calendars,
    campaigns,
    campaignResults,
  };
}

export type Services = ReturnType<typeof createServices>;
