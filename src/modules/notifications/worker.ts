import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import {
  bookings,
  calendarConnections,
  campaigns,
  companions,
  feedbackRequests,
  invitationOptOuts,
  librarians,
  notifications,
  students,
  waitlistOffers,
} from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { type Catalogues, loadCatalogues } from '../../text/i18n.js';
import { escapeMarkup } from '../../text/markup.js';
import type { Clock } from '../../time/clock.js';
import { createTimeFormat, timeWords } from '../../time/format.js';
import { composeInvitation, senderName } from '../campaigns/message.js';
import { createOptOutKeys } from '../campaigns/opt-outs.js';
import { FEEDBACK_QUESTIONS } from '../feedback/schemas.js';
import { generateManageToken, hashManageToken, insertManageToken } from '../links/tokens.js';
import { loadSessionContexts } from './context.js';
import { composeSignInMessage, emailHtml } from './mail-parts.js';
import type { Mailer } from './mailer.js';
import { composeFeedbackMessage, composeMessage, FEEDBACK_LINK_DAYS, type MessageSnapshot } from './message.js';
import type { NotificationKind } from './queue.js';

type NotificationRow = typeof notifications.$inferSelect;

/** How long a claimed row stays invisible to other workers; a crash mid-send is retried after it. */
const CLAIM_MS = 5 * 60_000;
/** A uuid no row has: the join's condition when a message has no companion. */
const NO_ID = '00000000-0000-0000-0000-000000000000';
export const MAX_ATTEMPTS = 32;

/**
 * Retry delay after the n-th failed attempt: 30 s, doubling, at most an hour. With 32 attempts
 * the last is about 25 hours after the first; then the row is dead.
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
}

export interface WorkerRun {
  sent: number;
  failed: number;
  dead: number;
  skipped: number;
}

export function createNotificationWorker(deps: {
  db: Database;
  clock: Clock;
  mailer: Mailer;
  config: Pick<Config, 'publicUrl'> & Partial<Pick<Config, 'mailFrom' | 'calendarStaleHours' | 'libraryTimeZone'>>;
  batchSize?: number;
  concurrency?: number;
  log?: (message: string, details?: Record<string, unknown>) => void;
  /** The message catalogue emails are worded from (default: src/text/messages). */
  catalogues?: Catalogues;
}) {
  const { db, clock, mailer } = deps;
  const catalogues = deps.catalogues ?? loadCatalogues();
  const optOutKeys = createOptOutKeys(db, clock);
  // Staff and admins are written to in English (their pages are English too).
  const english = catalogues.translator('en');
  /** A translator for the language a student or a friend chose (English when none, or one without a catalogue). */
  const translatorFor = (language: string | null | undefined) => catalogues.translator(language ?? 'en');

  /**
   * The language a message about a booking goes in: the recipient's own choice: a friend's as the
   * student chose it (else the student's), the student's; the librarian's is English.
   */
  function languageOf(
    row: NotificationRow,
    languages: { student: string | null; companions: Map<string, string | null> },
  ): string | null {
    if (row.language) return row.language;
    if (row.recipientRole === 'librarian') return 'en';
    if (row.recipientRole === 'companion' && row.companionId) {
      return languages.companions.get(row.companionId) ?? languages.student;
    }
    return languages.student;
  }
  const batchSize = deps.batchSize ?? 100;
  const concurrency = deps.concurrency ?? 20;

  /** Claims due rows; SKIP LOCKED lets any number of workers in any processes share the queue. */
  async function claim(now: Date): Promise<NotificationRow[]> {
    return transaction(db, async (tx) => {
      const due = await tx
        .select()
        .from(notifications)
        .where(
          and(
            inArray(notifications.status, ['pending', 'failed']),
            lte(notifications.sendAfter, now),
            or(isNull(notifications.lockedUntil), lt(notifications.lockedUntil, now)),
          ),
        )
        .orderBy(asc(notifications.sendAfter))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(notifications)
        .set({ lockedUntil: new Date(now.getTime() + CLAIM_MS), attempts: sql`${notifications.attempts} + 1` })
        .where(
          inArray(
            notifications.id,
            due.map((row) => row.id),
          ),
        );
      return due.map((row) => ({ ...row, attempts: row.attempts + 1 }));
    });
  }

  /**
   * The recipient's link. A message gets one token, at its first attempt, kept in the row until it
   * is sent so every retry carries the same link (and retries never pile up live tokens).
   */
  async function linkFor(row: NotificationRow, bookingId: string, endsAt: Date): Promise<string> {
    // Pages, not API paths: the link opens the booking page (old API links keep working).
    const url = `${deps.config.publicUrl}/bookings/${bookingId}`;
    if (row.recipientRole === 'librarian') return url;
    if (row.linkToken) return `${url}?token=${row.linkToken}`;
    const companionId = row.recipientRole === 'companion' ? row.companionId : null;
    const token = await transaction(db, async (tx) => {
      const minted = await insertManageToken(tx, { bookingId, endsAt, companionId, now: clock.now() });
      await tx.update(notifications).set({ linkToken: minted }).where(eq(notifications.id, row.id));
      return minted;
    });
    row.linkToken = token;
    return `${url}?token=${token}`;
  }

  /**
   * Renders and sends one message: from what it said when queued (payload), or for a reminder from
   * the booking as it now is; returns 'skipped' for a stale reminder.
   */
  async function deliver(row: NotificationRow): Promise<'sent' | 'skipped'> {
    if (row.kind === 'sign_in_link') return deliverSignInLink(row);
    if (row.kind === 'feedback_request') return deliverFeedbackRequest(row);
    if (row.kind === 'webhook_disabled') return deliverWebhookAlert(row);
    if (row.kind === 'calendar_failed' || row.kind === 'calendar_recovered') return deliverCalendarAlert(row);
    if (row.kind === 'waitlist_offer') return deliverWaitlistOffer(row);
    if (row.kind === 'campaign_invitation') return deliverInvitation(row);
    if (!row.bookingId) return 'skipped';
    const [found] = await loadSessionContexts(db, eq(bookings.id, row.bookingId));
    if (!found) return 'skipped';
    if (row.kind === 'reminder') {
      const own = found.companions.find((companion) => companion.id === row.companionId);
      const stale =
        found.booking.status !== 'confirmed' ||
        found.booking.startMs !== row.sessionStartsAt?.getTime() ||
        (row.recipientRole === 'companion' && own?.status !== 'invited');
      if (stale) return 'skipped';
    }
    const snapshot = row.kind === 'reminder' ? null : (row.payload as MessageSnapshot | null);
    const now = clock.now();
    const message = composeMessage(translatorFor(languageOf(row, found.languages)), {
      ...(snapshot ?? found),
      kind: row.kind as NotificationKind,
      recipientRole: row.recipientRole,
      recipientCompanionId: row.companionId,
      manageUrl: await linkFor(row, found.booking.id, found.raw.endsAt),
      nowMs: now.getTime(),
    });
    await mailer.send({
      to: { name: row.recipientName, address: row.recipientEmail },
      ...message,
      messageId: row.messageId,
    });
    return 'sent';
  }

  /**
   * The after-session question. Sent only if the person is still recorded as having come (a
   * correction to no-show skips it); the link's token is minted at the first attempt, its hash
   * stored once per person and session, and kept in the row until sent so retries carry it.
   */
  async function deliverFeedbackRequest(row: NotificationRow): Promise<'sent' | 'skipped'> {
    if (!row.bookingId || row.recipientRole === 'librarian') return 'skipped';
    const [booking] = await db.select().from(bookings).where(eq(bookings.id, row.bookingId));
    if (booking?.status !== 'confirmed') return 'skipped';
    if (row.recipientRole === 'student' && booking.attendance !== 'attended') return 'skipped';
    if (row.recipientRole === 'companion') {
      if (!row.companionId) return 'skipped';
      const [companion] = await db.select().from(companions).where(eq(companions.id, row.companionId));
      if (companion?.attended !== true || companion.status !== 'invited') return 'skipped';
    }
    let token = row.linkToken;
    if (!token) {
      const minted = generateManageToken();
      const expiresAt = new Date(clock.now().getTime() + FEEDBACK_LINK_DAYS * 86_400_000);
      await transaction(db, async (tx) => {
        await tx
          .insert(feedbackRequests)
          .values({
            bookingId: booking.id,
            respondent: row.recipientRole as 'student' | 'companion',
            companionId: row.companionId,
            tokenHash: hashManageToken(minted),
            expiresAt,
            createdAt: clock.now(),
          })
          .onConflictDoUpdate({
            target: [feedbackRequests.bookingId, feedbackRequests.respondent, feedbackRequests.companionId],
            set: { tokenHash: hashManageToken(minted), expiresAt },
          });
        await tx.update(notifications).set({ linkToken: minted }).where(eq(notifications.id, row.id));
      });
      token = minted;
      row.linkToken = minted;
    }
    const snapshot = row.payload as MessageSnapshot;
    const [people] = await db
      .select({ student: students.language, companion: companions.language })
      .from(bookings)
      .leftJoin(students, eq(students.id, bookings.studentId))
      .leftJoin(companions, and(eq(companions.bookingId, bookings.id), eq(companions.id, row.companionId ?? NO_ID)))
      .where(eq(bookings.id, booking.id));
    const language = languageOf(row, {
      student: people?.student ?? null,
      companions: new Map(row.companionId ? [[row.companionId, people?.companion ?? null]] : []),
    });
    const message = composeFeedbackMessage(translatorFor(language), {
      recipientRole: row.recipientRole,
      questions: FEEDBACK_QUESTIONS[row.recipientRole].length,
      librarianName: snapshot.librarian.name,
      startMs: snapshot.booking.startMs,
      endMs: snapshot.booking.endMs,
      timeZone: snapshot.booking.studentTimeZone ?? snapshot.booking.timeZone,
      url: `${deps.config.publicUrl}/feedback?token=${token}`,
    });
    await mailer.send({
      to: { name: row.recipientName, address: row.recipientEmail },
      ...message,
      messageId: row.messageId,
    });
    return 'sent';
  }

  /** Tells an admin (ADMIN_ALERT_EMAILS) that a webhook endpoint was turned off after failing for days. */
  async function deliverWebhookAlert(row: NotificationRow): Promise<'sent' | 'skipped'> {
    const payload = (row.payload ?? {}) as { url?: string; failingSince?: string };
    const t = english;
    const lines = [
      t('email.webhookOff.body', {
        url: payload.url ?? '',
        since: payload.failingSince ?? t('email.webhookOff.sinceUnknown'),
      }),
      '',
      t('email.webhookOff.next'),
    ];
    await mailer.send({
      to: { name: null, address: row.recipientEmail },
      subject: t('email.webhookOff.subject'),
      text: lines.join('\n'),
      html: emailHtml(
        t,
        t('email.webhookOff.subject'),
        lines.filter(Boolean).map((line) => `<p>${escapeMarkup(line)}</p>`),
      ),
      messageId: row.messageId,
    });
    return 'sent';
  }

  /**
   * Tells a librarian that one of their own calendars cannot be read (once per failure spell), or
   * can again. Skipped when the connection has been removed since.
   */
  async function deliverCalendarAlert(row: NotificationRow): Promise<'sent' | 'skipped'> {
    const payload = (row.payload ?? {}) as {
      connectionId?: string;
      label?: string;
      error?: string;
      librarianId?: string;
    };
    if (!payload.connectionId) return 'skipped';
    const [connection] = await db
      .select({ id: calendarConnections.id })
      .from(calendarConnections)
      .where(eq(calendarConnections.id, payload.connectionId));
    if (!connection) return 'skipped';
    const t = english;
    const failed = row.kind === 'calendar_failed';
    const subject = t(failed ? 'staff.calendars.email.failedSubject' : 'staff.calendars.email.recoveredSubject', {
      label: payload.label ?? '',
    });
    const lines = failed
      ? [
          t('staff.calendars.email.failedBody', {
            label: payload.label ?? '',
            reason: t(`staff.calendars.error.${payload.error ?? 'server_error'}`),
          }),
          '',
          t('staff.calendars.email.failedHolds', { hours: deps.config.calendarStaleHours ?? 24 }),
          '',
          t('staff.calendars.email.where', { url: `${deps.config.publicUrl}/staff/calendars` }),
        ]
      : [t('staff.calendars.email.recoveredBody', { label: payload.label ?? '' })];
    await mailer.send({
      to: { name: null, address: row.recipientEmail },
      subject,
      text: lines.join('\n'),
      html: emailHtml(
        t,
        subject,
        lines.filter(Boolean).map((line) => `<p>${escapeMarkup(line)}</p>`),
      ),
      messageId: row.messageId,
    });
    return 'sent';
  }

  /**
   * A freed time offered to a waiting student, in their language, with the link to take it (or
   * pass it on). Skipped when the offer ended before it could be sent.
   */
  async function deliverWaitlistOffer(row: NotificationRow): Promise<'sent' | 'skipped'> {
    const payload = (row.payload ?? {}) as { offerId?: string };
    if (!payload.offerId || !row.linkToken) return 'skipped';
    const [found] = await db
      .select({ offer: waitlistOffers, librarian: { name: librarians.name } })
      .from(waitlistOffers)
      .innerJoin(librarians, eq(librarians.id, waitlistOffers.librarianId))
      .where(eq(waitlistOffers.id, payload.offerId));
    if (found?.offer.status !== 'open' || found.offer.expiresAt <= clock.now()) return 'skipped';
    const t = translatorFor(row.language);
    const format = createTimeFormat(t('email.locale'), deps.config.libraryTimeZone ?? 'Europe/London', timeWords(t));
    const when = format.span(found.offer.startsAt.getTime(), found.offer.endsAt.getTime());
    const subject = t('email.waitlist.subject', { librarian: found.librarian.name, when });
    const url = `${deps.config.publicUrl}/waitlist/offer?token=${row.linkToken}`;
    const lines = [
      found.offer.broadcast
        ? t('email.waitlist.broadcast')
        : t('email.waitlist.held', { deadline: format.full(found.offer.expiresAt.getTime()) }),
      '',
      t('email.waitlist.take', { url }),
      '',
      t('email.waitlist.pass'),
    ];
    await mailer.send({
      to: { name: row.recipientName, address: row.recipientEmail },
      subject,
      text: lines.join('\n'),
      html: emailHtml(
        t,
        subject,
        lines.filter(Boolean).map((line) => `<p>${escapeMarkup(line)}</p>`),
      ),
      messageId: row.messageId,
    });
    // Sent: the token's hash is in the offer; the token itself need not wait in the outbox.
    await db.update(notifications).set({ linkToken: null }).where(eq(notifications.id, row.id));
    return 'sent';
  }

  /**
   * A campaign's invitation: the arm's text for this person, with their invitation link and the
   * link that stops invitations (also as RFC 8058 one-click headers). Skipped when the address
   * asked for no more invitations after it was queued.
   */
  async function deliverInvitation(row: NotificationRow): Promise<'sent' | 'skipped'> {
    const payload = row.payload as { campaignId?: string; arm?: string } | null;
    const [link, stop] = (row.linkToken ?? '').split(' ');
    if (!payload?.campaignId || !link || !stop) return 'skipped';
    const [stopped] = await db
      .select({ at: invitationOptOuts.at })
      .from(invitationOptOuts)
      .where(inArray(invitationOptOuts.emailHash, [...(await optOutKeys.keysOf([row.recipientEmail])).keys()]));
    if (stopped) return 'skipped';
    const [campaign] = await db
      .select({ arms: campaigns.arms })
      .from(campaigns)
      .where(eq(campaigns.id, payload.campaignId));
    const arm = campaign?.arms.find((candidate) => candidate.key === payload.arm);
    if (!arm) return 'skipped';
    const t = translatorFor(row.language);
    const stopLink = `${deps.config.publicUrl}/invitations/stop/${stop}`;
    const message = composeInvitation(t, arm, {
      firstName: row.recipientName,
      library: senderName(deps.config.mailFrom ?? '') ?? t('email.campaign.library'),
      bookingLink: `${deps.config.publicUrl}/invitation/${link}`,
      stopLink,
    });
    await mailer.send({
      to: { name: row.recipientName, address: row.recipientEmail },
      ...message,
      messageId: row.messageId,
      headers: { 'List-Unsubscribe': `<${stopLink}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    return 'sent';
  }

  /** A one-time sign-in link: its token was minted when asked for and lives in the row until sent. */
  async function deliverSignInLink(row: NotificationRow): Promise<'sent' | 'skipped'> {
    if (!row.linkToken) return 'skipped';
    const message = composeSignInMessage(
      translatorFor(row.language),
      `${deps.config.publicUrl}/sign-in/link?token=${row.linkToken}`,
    );
    await mailer.send({
      to: { name: row.recipientName, address: row.recipientEmail },
      ...message,
      messageId: row.messageId,
    });
    return 'sent';
  }

  /**
   * Sends one row and records the outcome at once, so a slow batch never outlives its claim with
   * sends done but unrecorded (another worker would send them again).
   */
  async function settle(row: NotificationRow, run: WorkerRun): Promise<void> {
    try {
      const outcome = await deliver(row);
      await db
        .update(notifications)
        .set({
          status: outcome,
          sentAt: outcome === 'sent' ? clock.now() : null,
          lockedUntil: null,
          lastError: null,
          linkToken: null,
        })
        .where(eq(notifications.id, row.id));
      run[outcome]++;
    } catch (error) {
      const now = clock.now();
      const lastError = error instanceof Error ? error.message.slice(0, 1000) : String(error).slice(0, 1000);
      const isDead = row.attempts >= MAX_ATTEMPTS;
      await db
        .update(notifications)
        .set({
          status: isDead ? 'dead' : 'failed',
          lastError,
          lockedUntil: null,
          sendAfter: new Date(now.getTime() + retryDelayMs(row.attempts)),
        })
        .where(eq(notifications.id, row.id));
      run[isDead ? 'dead' : 'failed']++;
      deps.log?.('notification failed', { id: row.id, attempts: row.attempts, error: lastError });
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let stopping = false;

  async function runOnce(): Promise<WorkerRun> {
    const run: WorkerRun = { sent: 0, failed: 0, dead: 0, skipped: 0 };
    const rows = await claim(clock.now());
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
        while (next < rows.length && !stopping) await settle(rows[next++] as NotificationRow, run);
      }),
    );
    // Stopping: messages claimed but not started go back at once (another process may send them).
    const unstarted = rows.slice(next);
    if (unstarted.length > 0) {
      await db
        .update(notifications)
        .set({ lockedUntil: null, attempts: sql`greatest(${notifications.attempts} - 1, 0)` })
        .where(
          inArray(
            notifications.id,
            unstarted.map((row) => row.id),
          ),
        );
    }
    return run;
  }

  return {
    runOnce,

    /** Polls until stop(); a full batch is followed at once by the next. */
    start(pollMs = 1000) {
      stopped = false;
      const tick = async () => {
        if (stopped) return;
        let processed = 0;
        try {
          running = runOnce();
          const run = (await running) as WorkerRun;
          processed = run.sent + run.failed + run.dead + run.skipped;
        } catch (error) {
          deps.log?.('notification worker error', { error: error instanceof Error ? error.message : String(error) });
        }
        if (!stopped) timer = setTimeout(tick, processed >= batchSize ? 0 : pollMs);
      };
      timer = setTimeout(tick, 0);
    },

    /** Stops claiming; messages being sent finish, claimed ones not yet started are released. */
    async stop() {
      stopped = true;
      stopping = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => {});
      stopping = false;
    },
  };
}

export type NotificationWorker = ReturnType<typeof createNotificationWorker>;
