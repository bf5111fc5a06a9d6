import type { Config } from '../config.js';
import type { AvailabilityService } from '../modules/availability/service.js';
import type { CompanionService } from '../modules/bookings/companions.js';
import type { BookingService } from '../modules/bookings/service.js';
import type { CalendarService } from '../modules/calendar/service.js';
import type { CalendarConnections } from '../modules/calendars/service.js';
import type { CampaignResultsReader } from '../modules/campaigns/results.js';
import type { CampaignService } from '../modules/campaigns/service.js';
import type { CategoryService } from '../modules/categories/service.js';
import type { TermService } from '../modules/categories/terms.js';
import type { FeedbackService } from '../modules/feedback/service.js';
import type { LibrarianService } from '../modules/librarians/service.js';
import type { NotificationService } from '../modules/notifications/service.js';
import type { PeopleService } from '../modules/people/service.js';
import type { PoolService } from '../modules/pools/service.js';
import type { StaffRecord } from '../modules/staff-record/service.js';
import type { ImportService } from '../modules/uptake/imports.js';
import type { UptakeService } from '../modules/uptake/service.js';
import type { WaitlistService } from '../modules/waitlist/service.js';
import type { Catalogues } from '../text/i18n.js';
import type { Clock } from '../time/clock.js';
import type { PageCookies } from './page-cookies.js';
import type { SessionStore } from './session.js';
import type { OidcSignOn } from './sign-in/oidc.js';
import type { SignInService } from './sign-in/service.js';

/** Everything the web front's pages use; each area's routes take only the part they need (Pick). */
export interface WebDeps {
  config: Config;
  clock: Clock;
  catalogues: Catalogues;
  sessions: SessionStore;
  pageCookies: PageCookies;
  signIn: SignInService;
  /** The institution's single sign-on, when OIDC_ISSUER is set. */
  oidc: OidcSignOn | null;
  librarians: LibrarianService;
  availability: AvailabilityService;
  bookings: BookingService;
  companions: CompanionService;
  categories: CategoryService;
  calendar: CalendarService;
  notifications: NotificationService;
  imports: ImportService;
  terms: TermService;
  uptake: UptakeService;
  feedback: FeedbackService;
  people: PeopleService;
  staffRecord: StaffRecord;
  pools: PoolService;
  waitlist: WaitlistService;
  calendars: CalendarConnections;
  campaigns: CampaignService;
  campaignResults: CampaignResultsReader;
}
