import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPANION_ROLES } from '../../src/modules/bookings/roles.js';
import { CSV_OUTCOMES, RESULTS_CSV_COLUMNS } from '../../src/modules/campaigns/csv.js';
import { OUTCOMES } from '../../src/modules/campaigns/schemas.js';
import { IMPORT_PROBLEM_KINDS } from '../../src/modules/uptake/imports.js';
import { MESSAGES_DIR } from '../../src/text/i18n.js';
import { isStaffOnlyKey } from '../../src/text/languages.js';
import { LIBRARIAN_NOTICES } from '../../src/web/admin/librarians.js';
import { PEOPLE_NOTICES } from '../../src/web/admin/people.js';
import { CSV_COLUMNS, CSV_PREFIXES } from '../../src/web/analytics/readable-csv.js';
import { FIXED_GROUPS, PERIOD_SPLITS } from '../../src/web/analytics/shared.js';
import { RULES_WORDED } from '../../src/web/layout/refusals.js';
import { ZONE_REGIONS } from '../../src/web/layout/zones.js';
import { SETTINGS } from '../../src/web/staff/availability.js';
import { CALENDAR_NOTICES } from '../../src/web/staff/calendars.js';
import { BOOKING_NOTICES } from '../../src/web/student/booking-page.js';

// Keys the pages build at run time (`booking.notice.${notice}`, `'mode.' + mode`): each family
// with every value it can take, in every language's catalogue (issue 23). The literal lists are
// the domain's own values (the API's enums, the feedback form's questions); the exported ones
// are the lists the code itself accepts, so a value added there is checked here too.

const FAMILIES: Record<string, readonly (string | number)[]> = {
  'booking.notice.': BOOKING_NOTICES,
  'admin.librarians.notice.': LIBRARIAN_NOTICES,
  'admin.people.notice.': PEOPLE_NOTICES,
  'rule.': RULES_WORDED,
  'admin.imports.problem.': IMPORT_PROBLEM_KINDS,
  'analytics.group.': [...FIXED_GROUPS, ...PERIOD_SPLITS, 'all'],
  'mode.': ['in_person', 'online'],
  'modeWord.': ['in_person', 'online'],
  'role.': ['student', 'librarian', 'analyst', 'admin'],
  'friendStatus.': ['invited', 'confirmed', 'declined', 'removed', 'came', 'didNotCome'],
  'companionRole.': COMPANION_ROLES,
  'book.friend.roleOption.': COMPANION_ROLES,
  'weekday.': [1, 2, 3, 4, 5, 6, 7],
  'staff.timeOff.kind.': ['closed', 'open'],
  'feedback.bookMyself.': ['question', 'yes', 'maybe', 'no'],
  'feedback.nervous.': ['question', 1, 2, 3, 4, 5],
  'feedback.useful.': ['question', 1, 2, 3, 4, 5],
  'feedback.nervesNow.': ['question', 1, 2, 3, 4, 5],
  'attendance.effort.': ['question', 'hint', 1, 2, 3, 4, 5, 6],
  'feedback.error.': ['nervous', 'useful', 'nervesNow', 'bookMyself', 'comment'],
  'email.label.': [
    'was',
    'now',
    'when',
    'libraryTime',
    'where',
    'with',
    'student',
    'invitedBy',
    'companion',
    'topic',
    'reason',
  ],
  'email.headline.reminder.': ['student', 'companion'],
  'email.headline.cancelled.': ['student', 'companion', 'librarian'],
  'email.headline.moved.': ['student', 'companion', 'librarian'],
  'email.headline.friendDeclined.': ['student', 'librarian'],
  'email.headline.friendRejoined.': ['student', 'librarian'],
  'email.headline.friendConfirmed.': ['student', 'librarian'],
  'email.link.': ['student', 'companion', 'librarian'],
  'layout.zone.region.': ZONE_REGIONS,
  'analytics.csv.column.': CSV_COLUMNS,
  'analytics.csv.prefix.': CSV_PREFIXES,
  'calendar.label.': ['student', 'companion', 'topic', 'booking'],
  'admin.campaigns.outcome.': OUTCOMES,
  'admin.campaigns.status.': ['draft', 'sent'],
  'admin.campaigns.notice.': ['created', 'saved', 'cohort', 'sent'],
  'staff.calendars.notice.': CALENDAR_NOTICES,
  'admin.calendars.notice.': CALENDAR_NOTICES,
  'analytics.campaigns.outcomeWords.': OUTCOMES,
  'analytics.campaigns.col.': CSV_OUTCOMES,
  'analytics.campaigns.csv.': RESULTS_CSV_COLUMNS,
  'analytics.campaigns.sentence.': ['provisional', 'tooFew', 'none', 'withheld', 'noDifference', 'more', 'fewer'],
  'analytics.campaigns.who.': ['arm', 'holdout'],
};
/** Families of two-part keys: `error.${kind}.title` and `.body`, and the like. */
const PAIRS: [string, readonly string[], readonly string[]][] = [
  ['error.', ['notFound', 'forbidden', 'unavailable', 'server', 'request'], ['title', 'body']],
  ['feedback.', ['unknown', 'expired'], ['title', 'body']],
  ['staff.availability.', SETTINGS, ['invalid']],
];

const languages = readdirSync(MESSAGES_DIR).filter((file) => file.endsWith('.json'));

describe('keys built at run time', () => {
  it.each(languages)('are all in %s', (file) => {
    const catalogue = JSON.parse(readFileSync(path.join(MESSAGES_DIR, file), 'utf8')) as Record<string, string>;
    const wanted = [
      ...Object.entries(FAMILIES).flatMap(([prefix, values]) => values.map((value) => `${prefix}${value}`)),
      ...PAIRS.flatMap(([prefix, middles, ends]) =>
        middles.flatMap((middle) => ends.map((end) => `${prefix}${middle}.${end}`)),
      ),
    ];
    expect(wanted.length).toBeGreaterThan(80);
    // Staff pages stay English: other languages need only what students, friends and visitors read.
    const needed = file === 'en.json' ? wanted : wanted.filter((key) => !isStaffOnlyKey(key));
    expect(needed.filter((key) => catalogue[key] === undefined)).toEqual([]);
  });
});
