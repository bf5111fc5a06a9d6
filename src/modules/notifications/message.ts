import type { Translate } from '../../text/i18n.js';
import { escapeMarkup } from '../../text/markup.js';
import { createTimeFormat, timeWords } from '../../time/format.js';
import { type InviteEvent, type InviteMethod, renderInvite } from './invite.js';
import { emailHtml, headerText } from './mail-parts.js';
import type { NotificationKind } from './queue.js';

export interface MessageContext {
  kind: NotificationKind;
  recipientRole: 'student' | 'companion' | 'librarian';
  recipientCompanionId: string | null;
  booking: {
    id: string;
    status: 'confirmed' | 'cancelled';
    startMs: number;
    endMs: number;
    timeZone: string;
    mode: 'in_person' | 'online';
    location: string | null;
    meetingUrl: string | null;
    topic: string | null;
    sequence: number;
    cancellationReason: string | null;
    /** The zone the student booked in (their browser's), when known. */
    studentTimeZone?: string | null;
  };
  librarian: { name: string; email: string };
  student: { name: string | null; email: string | null };
  companions: {
    id: string;
    name: string | null;
    email: string | null;
    status: 'invited' | 'declined' | 'removed';
    /** Who they are to the student (absent in messages queued before roles: a friend). */
    role?: 'friend' | 'family' | 'support';
  }[];
  /** For a move: where the session was before, as the recipient last heard it. */
  previous?: { startMs: number; endMs: number } | undefined;
  /** The friends a change is about: the ones added or removed, or the one who declined. */
  about?: string[] | undefined;
  /** The recipient's own link (student or companion); the librarian's points at the API. */
  manageUrl: string;
  nowMs: number;
}

/** What a message says, fixed when the change is queued: later changes never rewrite it. */
export type MessageSnapshot = Pick<
  MessageContext,
  'booking' | 'librarian' | 'student' | 'companions' | 'previous' | 'about'
>;

export interface ComposedMessage {
  subject: string;
  text: string;
  html: string;
  ics: string;
  method: InviteMethod;
}

/** A session's time as the pages write it, in the catalogue's locale: "Thursday, 1 April 2027, 16:00–17:00 China Standard Time". */
function span(t: Translate, startMs: number, endMs: number, timeZone: string): string {
  return createTimeFormat(t('email.locale'), timeZone, timeWords(t)).span(startMs, endMs);
}

/**
 * The zone a recipient reads times in first: the student's and their friends' (the zone the student
 * booked in, often the friend's too), the librarian's own; the library's time follows where it differs.
 */
function recipientZone(context: Pick<MessageContext, 'booking' | 'recipientRole'>): string {
  return context.recipientRole === 'librarian'
    ? context.booking.timeZone
    : (context.booking.studentTimeZone ?? context.booking.timeZone);
}

function when(t: Translate, context: Pick<MessageContext, 'booking' | 'recipientRole'>): string {
  return span(t, context.booking.startMs, context.booking.endMs, recipientZone(context));
}

function where(t: Translate, context: MessageContext): string {
  if (context.booking.mode === 'online') {
    return context.booking.meetingUrl
      ? t('email.where.online', { url: context.booking.meetingUrl })
      : t('email.where.onlineNoLink');
  }
  return context.booking.location ?? t('email.where.inPersonNoRoom');
}

/** Whether this recipient should see the session as cancelled: it is, or they were removed from it. */
export function isCancellation(
  context: Pick<MessageContext, 'booking' | 'companions' | 'recipientCompanionId'>,
): boolean {
  if (context.booking.status === 'cancelled') return true;
  if (context.recipientCompanionId === null) return false;
  const own = context.companions.find((companion) => companion.id === context.recipientCompanionId);
  return own?.status === 'removed';
}

/** The friends the change is about, by name, as one phrase ("Amira Haddad", or "a friend"). */
function friendsAbout(t: Translate, context: MessageContext): string {
  const names = context.companions
    .filter((companion) => context.about?.includes(companion.id))
    .map((companion) => companion.name ?? t('email.aFriend'));
  return names.length > 0 ? names.join(', ') : t('email.aFriend');
}

/**
 * The message's first line (and its subject's start), written for its recipient: the student
 * hears of their session, a friend of the session they were invited to, the librarian of the
 * session with the student.
 */
function headline(t: Translate, context: MessageContext, student: string, librarian: string): string {
  const { kind, recipientRole: role } = context;
  const names = { student, librarian };
  if (kind === 'reminder') return t(`email.headline.reminder.${role === 'companion' ? 'companion' : 'student'}`, names);
  if (isCancellation(context)) {
    return role === 'companion' && context.booking.status !== 'cancelled'
      ? t('email.headline.noLongerInvited', names)
      : t(`email.headline.cancelled.${role}`, names);
  }
  if (kind === 'booking_rescheduled') return t(`email.headline.moved.${role}`, names);
  if (kind === 'companion_declined' || kind === 'companion_rejoined' || kind === 'companion_confirmed') {
    const which = {
      companion_declined: 'friendDeclined',
      companion_rejoined: 'friendRejoined',
      companion_confirmed: 'friendConfirmed',
    }[kind];
    return t(`email.headline.${which}.${role === 'librarian' ? 'librarian' : 'student'}`, {
      ...names,
      friend: friendsAbout(t, context),
    });
  }
  if (role === 'companion') return t('email.headline.invited', names);
  if (role === 'librarian') {
    if (kind === 'companion_added')
      return t('email.headline.friendAdded', { ...names, friend: friendsAbout(t, context) });
    if (kind === 'companion_removed') {
      return t('email.headline.friendRemoved', { ...names, friend: friendsAbout(t, context) });
    }
    return t('email.headline.newBooking', names);
  }
  return t('email.headline.confirmed', names);
}

/** A line of the message: what it is (which also says whether the calendar copy keeps it), its label and value. */
type Line = {
  key:
    | 'was'
    | 'now'
    | 'when'
    | 'libraryTime'
    | 'where'
    | 'with'
    | 'student'
    | 'invitedBy'
    | 'companion'
    | 'topic'
    | 'reason';
  value: string;
};
/** Lines about the time: the calendar event carries the time itself. */
const TIME_LINES = new Set<Line['key']>(['when', 'was', 'now', 'libraryTime']);

/** Subject, plain text, HTML and invite for one recipient, worded by `t`. Pure: all it needs is in `context`. */
export function composeMessage(t: Translate, context: MessageContext): ComposedMessage {
  const studentName = headerText(context.student.name ?? t('email.aStudent'));
  const librarianName = headerText(context.librarian.name);
  const cancelled = isCancellation(context);
  const method: InviteMethod = cancelled ? 'CANCEL' : 'REQUEST';
  const title = headline(t, context, studentName, librarianName);
  const subject = headerText(t('email.subject', { headline: title, when: when(t, context) }));
  const activeCompanions = context.companions.filter((companion) => companion.status === 'invited');

  const isMove = context.kind === 'booking_rescheduled' && !cancelled && context.previous;
  const zone = recipientZone(context);
  const libraryZone = context.booking.timeZone;
  const lines: Line[] = [
    ...(isMove && context.previous
      ? [
          { key: 'was' as const, value: span(t, context.previous.startMs, context.previous.endMs, zone) },
          { key: 'now' as const, value: when(t, context) },
        ]
      : [{ key: 'when' as const, value: when(t, context) }]),
    ...(zone !== libraryZone
      ? [
          {
            key: 'libraryTime' as const,
            value: span(t, context.booking.startMs, context.booking.endMs, libraryZone),
          },
        ]
      : []),
    { key: 'where', value: where(t, context) },
  ];
  // Each recipient reads of the others: the librarian of the student, a friend of who invited them.
  const studentLine = context.student.name ?? t('email.aStudent');
  if (context.recipientRole === 'librarian') lines.push({ key: 'student', value: studentLine });
  else lines.push({ key: 'with', value: t('email.librarianRole', { name: context.librarian.name }) });
  if (context.recipientRole === 'companion') lines.push({ key: 'invitedBy', value: studentLine });
  else if (activeCompanions.length > 0) {
    // A family member or a support worker is named as such; a friend is simply named.
    const named = (c: (typeof activeCompanions)[number]) => {
      const name = c.name ?? t('email.aFriend');
      return c.role && c.role !== 'friend'
        ? t('email.companionWithRole', { name, role: t(`companionRole.${c.role}`) })
        : name;
    };
    lines.push({ key: 'companion', value: activeCompanions.map(named).join(', ') });
  }
  // The topic is the student's to share: their friend is not told it.
  if (context.booking.topic && context.recipientRole !== 'companion') {
    lines.push({ key: 'topic', value: context.booking.topic });
  }
  if (context.booking.status === 'cancelled' && context.booking.cancellationReason) {
    lines.push({ key: 'reason', value: context.booking.cancellationReason });
  }
  const labelled = lines.map((line) => ({ ...line, label: t(`email.label.${line.key}`) }));
  const asText = (line: { label: string; value: string }) => t('email.line', line);
  const linkLabel = t(`email.link.${context.recipientRole}`);
  const attached = t('email.inviteAttached');
  // A friend's invitation says who asked them, that they are welcome as they are, and why they have it.
  const invitation =
    context.recipientRole === 'companion' &&
    !cancelled &&
    (context.kind === 'booking_created' || context.kind === 'companion_added');
  // A friend's reminder says again, in plain words, what they are there for.
  const reminding = context.recipientRole === 'companion' && context.kind === 'reminder' && !cancelled;
  const introKeys = invitation
    ? ['email.friend.why', 'email.friend.noPrep', 'email.friend.cantCome']
    : reminding
      ? ['email.friend.reminder', 'email.friend.cantCome']
      : [];
  const intro = introKeys.map((key) => t(key, { student: studentName, librarian: librarianName }));
  const privacyUrl = new URL('/privacy#friends', context.manageUrl).toString();
  const privacy = invitation ? [t('email.friend.privacy', { student: studentName })] : [];
  const meetingUrl = context.booking.mode === 'online' ? context.booking.meetingUrl : null;
  /** A line's value as HTML: the meeting link is a link. */
  const valueHtml = (line: Line) =>
    line.key === 'where' && meetingUrl
      ? `<a href="${escapeMarkup(meetingUrl)}">${escapeMarkup(line.value)}</a>`
      : escapeMarkup(line.value);

  const text = [
    title,
    '',
    ...intro.flatMap((paragraph) => [paragraph, '']),
    ...labelled.map(asText),
    '',
    ...(cancelled ? [] : [t('email.line', { label: linkLabel, value: context.manageUrl })]),
    '',
    attached,
    ...privacy.flatMap((paragraph) => ['', paragraph, t('email.friend.privacyLink', { url: privacyUrl })]),
  ].join('\n');

  const html = emailHtml(t, subject, [
    `<h1 style="font-size: 1.2em">${escapeMarkup(title)}</h1>`,
    ...intro.map((paragraph) => `<p>${escapeMarkup(paragraph)}</p>`),
    '<table>',
    ...labelled.map((line) => `<tr><th align="left">${escapeMarkup(line.label)}</th><td>${valueHtml(line)}</td></tr>`),
    '</table>',
    cancelled ? '' : `<p><a href="${escapeMarkup(context.manageUrl)}">${escapeMarkup(linkLabel)}</a></p>`,
    `<p>${escapeMarkup(attached)}</p>`,
    ...privacy.map(
      (paragraph) =>
        `<p>${escapeMarkup(paragraph)} <a href="${escapeMarkup(privacyUrl)}">${escapeMarkup(t('layout.privacy'))}</a></p>`,
    ),
  ]);

  // Invites are forwarded and synced to shared calendars: they carry no manage link.
  const event = sessionEvent(t, context, cancelled, labelled.filter((line) => !TIME_LINES.has(line.key)).map(asText));
  return { subject, text, html, ics: renderInvite(method, [event]), method };
}

/** The calendar event for a session as one recipient should see it. */
export function sessionEvent(
  t: Translate,
  context: Pick<MessageContext, 'booking' | 'librarian' | 'student' | 'companions' | 'recipientCompanionId' | 'nowMs'>,
  cancelled: boolean,
  descriptionLines: string[],
): InviteEvent {
  return {
    bookingId: context.booking.id,
    sequence: context.booking.sequence,
    cancelled,
    startMs: context.booking.startMs,
    endMs: context.booking.endMs,
    timeZone: context.booking.timeZone,
    summary: t('calendar.summary', {
      student: context.student.name ?? t('calendar.aStudent'),
      librarian: context.librarian.name,
    }),
    description: descriptionLines.join('\n'),
    location: context.booking.mode === 'online' ? context.booking.meetingUrl : context.booking.location,
    url: context.booking.mode === 'online' ? context.booking.meetingUrl : null,
    organizer: context.librarian,
    // A companion's copy lists only the companion: the student's address is not theirs to see.
    attendees: [
      ...(context.student.email && context.recipientCompanionId === null
        ? [{ name: context.student.name, email: context.student.email, optional: false }]
        : []),
      ...context.companions
        .filter(
          (companion) =>
            companion.email &&
            (context.recipientCompanionId === null
              ? companion.status !== 'removed'
              : companion.id === context.recipientCompanionId),
        )
        .map((companion) => ({
          name: companion.name,
          email: companion.email as string,
          optional: true,
          declined: companion.status === 'declined',
        })),
    ],
    stampMs: context.nowMs,
  };
}

/** Days a feedback link works, from when its email is sent. */
export const FEEDBACK_LINK_DAYS = 14;

/** The after-session email: how did it go? Three short questions behind a personal link. */
export function composeFeedbackMessage(
  t: Translate,
  context: {
    recipientRole: 'student' | 'companion';
    /** How many questions the form asks this person. */
    questions: number;
    librarianName: string;
    startMs: number;
    endMs: number;
    timeZone: string;
    url: string;
  },
): Pick<ComposedMessage, 'subject' | 'text' | 'html'> {
  const librarian = headerText(context.librarianName);
  const when = span(t, context.startMs, context.endMs, context.timeZone);
  const intro = t(
    context.recipientRole === 'companion' ? 'email.feedback.introCompanion' : 'email.feedback.introStudent',
    {
      librarian,
      when,
    },
  );
  const ask = t('email.feedback.ask', { count: context.questions });
  const yours = t('email.feedback.yours', { count: FEEDBACK_LINK_DAYS });
  return {
    subject: t('email.feedback.subject', { librarian }),
    text: [intro, '', ask, '', context.url, '', yours].join('\n'),
    html: emailHtml(t, t('email.feedback.subject', { librarian }), [
      `<p>${escapeMarkup(intro)}</p>`,
      `<p>${escapeMarkup(ask)}</p>`,
      `<p><a href="${escapeMarkup(context.url)}">${escapeMarkup(t('email.feedback.link'))}</a></p>`,
      `<p>${escapeMarkup(yours)}</p>`,
    ]),
  };
}
