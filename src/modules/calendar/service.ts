import { and, eq, gte, lt } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { bookings, librarians } from '../../db/schema.js';
import { NotFound } from '../../errors.js';
import { type Catalogues, loadCatalogues, type Translate } from '../../text/i18n.js';
import type { Clock } from '../../time/clock.js';
import { authorize, type Caller } from '../bookings/access.js';
import { generateManageToken, hashManageToken } from '../links/tokens.js';
import { loadSessionContexts } from '../notifications/context.js';
import { renderInvite } from '../notifications/invite.js';
import { isCancellation, sessionEvent } from '../notifications/message.js';

const DAY = 86_400_000;
/** A subscription feed shows the last 30 days and what is booked ahead. */
const FEED_PAST_DAYS = 30;

export function createCalendarService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'publicUrl'>;
  /** The message catalogue calendar text is worded from (default: src/text/messages). */
  catalogues?: Catalogues;
}) {
  const { db, clock, config } = deps;
  const catalogues = deps.catalogues ?? loadCatalogues();
  // The librarian's feed is English, as staff pages are; a booking's file is in its reader's language.
  const t = catalogues.translator('en');
  const lineIn = (translate: Translate, label: string, value: string) =>
    translate('calendar.line', { label: translate(`calendar.label.${label}`), value });
  const line = (label: string, value: string) => lineIn(t, label, value);

  return {
    /** One booking's invite, for its student, its librarian, an admin or a manage link; in `language` (default English). */
    async bookingInvite(id: string, caller: Caller, language = 'en'): Promise<string> {
      const own = catalogues.translator(language);
      const [row] = await db.select().from(bookings).where(eq(bookings.id, id));
      const party = await authorize(db, row, id, caller, 'view', clock.now());
      const [context] = await loadSessionContexts(db, eq(bookings.id, id));
      if (!context) throw new NotFound(`Booking ${id}`);
      const recipientCompanionId = party.kind === 'companion_link' ? party.companionId : null;
      const cancelled = isCancellation({ ...context, recipientCompanionId });
      const event = sessionEvent(
        own,
        { ...context, recipientCompanionId, nowMs: clock.now().getTime() },
        cancelled,
        [
          context.booking.topic ? lineIn(own, 'topic', context.booking.topic) : '',
          lineIn(own, 'booking', `${config.publicUrl}/bookings/${id}`),
        ].filter(Boolean),
      );
      return renderInvite(cancelled ? 'CANCEL' : 'REQUEST', [event]);
    },

    /** The librarian's subscription feed; a wrong or rotated token, or a deactivated librarian, is a 404. */
    async librarianFeed(librarianId: string, token: string | undefined): Promise<string> {
      const [librarian] = await db.select().from(librarians).where(eq(librarians.id, librarianId));
      // A deactivated librarian's feed stops with them: it names students.
      if (
        !librarian?.active ||
        !token ||
        !librarian.calendarTokenHash ||
        librarian.calendarTokenHash !== hashManageToken(token)
      ) {
        throw new NotFound('Calendar feed');
      }
      const now = clock.now().getTime();
      const contexts = await loadSessionContexts(
        db,
        and(
          eq(bookings.librarianId, librarianId),
          eq(bookings.source, 'booked'),
          gte(bookings.startsAt, new Date(now - FEED_PAST_DAYS * DAY)),
          lt(bookings.startsAt, new Date(now + (librarian.horizonDays + 1) * DAY)),
        ),
      );
      const events = contexts.map((context) => {
        const companions = context.companions.filter((companion) => companion.status === 'invited');
        const event = sessionEvent(
          t,
          { ...context, recipientCompanionId: null, nowMs: now },
          context.booking.status === 'cancelled',
          [
            line('student', context.student.name ?? t('calendar.someStudent')),
            companions.length > 0
              ? line('companion', companions.map((c) => c.name ?? t('calendar.someCompanion')).join(', '))
              : t('calendar.noCompanion'),
            context.booking.topic ? line('topic', context.booking.topic) : '',
            line('booking', `${config.publicUrl}/bookings/${context.booking.id}`),
          ].filter(Boolean),
        );
        return companions.length > 0
          ? { ...event, summary: t('calendar.withCompanion', { summary: event.summary }) }
          : event;
      });
      return renderInvite('PUBLISH', events, t('calendar.feedName', { name: librarian.name }));
    },

    /** A new secret feed URL; the previous one stops working. */
    async rotateFeedToken(librarianId: string): Promise<{ url: string }> {
      const token = generateManageToken();
      const updated = await db
        .update(librarians)
        .set({ calendarTokenHash: hashManageToken(token) })
        .where(eq(librarians.id, librarianId))
        .returning({ id: librarians.id });
      if (updated.length === 0) throw new NotFound(`Librarian ${librarianId}`);
      return { url: `${config.publicUrl}/api/v1/librarians/${librarianId}/calendar.ics?token=${token}` };
    },
  };
}

export type CalendarService = ReturnType<typeof createCalendarService>;
