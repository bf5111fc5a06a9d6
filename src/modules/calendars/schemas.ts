import { type Static, Type } from 'typebox';
import { described, Instant, Nullable, Uuid } from '../../http/formats.js';
import { CALENDAR_ERRORS } from './fetch.js';
import { CALENDAR_KINDS } from './sources.js';

const Label = Type.String({
  minLength: 1,
  maxLength: 80,
  pattern: '\\S',
  description: 'The librarian’s own name for it',
  examples: ['Outlook'],
});
const Url = Type.String({
  minLength: 8,
  maxLength: 2000,
  description:
    'The secret iCalendar address (https:// or webcal://; http:// only for hosts in CALENDAR_ALLOW_HOSTS), as Outlook ("Publish calendar", the ICS link) or Google Calendar ("Secret address in iCal format") gives it. Read once before it is saved; never returned.',
  examples: ['webcal://outlook.office365.com/owa/calendar/…/calendar.ics'],
});

const ServerUrl = Type.String({
  minLength: 8,
  maxLength: 2000,
  description:
    'The CalDAV server (https://; http:// only for hosts in CALENDAR_ALLOW_HOSTS): its address alone is enough, the calendars are found from it (/.well-known/caldav, the principal, the calendar home).',
  examples: ['https://caldav.fastmail.com'],
});
const Username = Type.String({ minLength: 1, maxLength: 200, description: 'The CalDAV user name' });
const Password = Type.String({
  minLength: 1,
  maxLength: 500,
  description: 'An app password for Liaison (never the account’s own); sealed, never returned',
});
const CalendarUrl = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'One of the account’s calendars (its url)',
});

export const CalendarConnectionInput = Type.Object(
  {
    kind: Type.Optional(
      Type.Enum([...CALENDAR_KINDS], {
        description:
          'ics (default): a secret calendar address, read for busy time; caldav: an account, read and written',
      }),
    ),
    label: Label,
    url: Type.Optional(described(Url, 'For ics: the calendar address')),
    serverUrl: Type.Optional(ServerUrl),
    username: Type.Optional(Username),
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);
export type CalendarConnectionInput = Static<typeof CalendarConnectionInput>;

export const CalendarConnectionPatch = Type.Object(
  {
    label: Type.Optional(Label),
    url: Type.Optional(Url),
    serverUrl: Type.Optional(ServerUrl),
    username: Type.Optional(Username),
    password: Type.Optional(Password),
    busyCalendars: Type.Optional(
      Type.Array(CalendarUrl, { maxItems: 50, description: 'CalDAV: the calendars whose events count as busy' }),
    ),
    bookingsCalendar: Type.Optional(
      Nullable(described(CalendarUrl, 'CalDAV: the calendar each booking is written into (null: none)')),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CalendarConnectionPatch = Static<typeof CalendarConnectionPatch>;

export const CalendarConnectionParams = Type.Object({
  id: Uuid('The librarian'),
  connectionId: Uuid('The calendar connection'),
});

export const CalendarConnection = Type.Object({
  id: Uuid(),
  librarianId: Uuid(),
  kind: Type.String({ description: 'The provider: ics (a calendar address) or caldav (an account)' }),
  label: Type.String(),
  host: Type.String({ description: 'The host of the address; the address itself is never returned' }),
  secretSetAt: Instant('When the address was saved'),
  state: Type.Enum(['ok', 'failing', 'withheld'], {
    description:
      'ok: last read worked; failing: the last read failed and the busy time last read still holds; withheld: it has failed for CALENDAR_STALE_HOURS, so this librarian’s times are not offered until it is read again',
  }),
  lastReadAt: Nullable(Instant('The last good read')),
  lastAttemptAt: Nullable(Instant('The last read tried')),
  error: Nullable(Type.Enum([...CALENDAR_ERRORS], { description: 'Why the last read failed' })),
  failingSince: Nullable(Instant('The first failure since the last good read')),
  busyBlocks: Type.Integer({ description: 'Stretches of busy time it holds now' }),
  writesWaiting: Type.Integer({
    description: 'CalDAV: bookings whose last write into the calendar failed; retried with backoff',
  }),
  writeError: Nullable(Type.Enum([...CALENDAR_ERRORS], { description: 'Why a waiting write failed' })),
  nextReadAt: Instant('When it will be read next'),
  calendars: Type.Array(
    Type.Object({
      url: Type.String(),
      name: Type.String(),
      busy: Type.Boolean({ description: 'Its events count as busy' }),
      receivesBookings: Type.Boolean({ description: 'Bookings are written into it' }),
    }),
    { description: 'CalDAV: the account’s calendars and what each is for (empty for a calendar address)' },
  ),
});

export const CalendarConnectionList = Type.Array(CalendarConnection);

export const CalendarConnectionOverview = Type.Array(
  Type.Object({
    ...CalendarConnection.properties,
    librarian: Type.Object({ name: Type.String(), email: Type.String() }),
  }),
);
