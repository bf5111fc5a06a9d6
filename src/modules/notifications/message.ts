import { DateTime } from 'luxon';
import { escapeMarkup } from '../../text/markup.js';
import { type InviteEvent, type InviteMethod, renderInvite } from './invite.js';
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
  companions: { id: string; name: string | null; email: string | null; status: 'invited' | 'declined' | 'removed' }[];
  /** For a move: where the session was before, as the recipient last heard it. */
  previous?: { startMs: number; endMs: number } | undefined;
  /** The recipient's own link (student or companion); the librarian's points at the API. */
  manageUrl: string;
  nowMs: number;
}

/** What a message says, fixed when the change is queued: later changes never rewrite it. */
export type MessageSnapshot = Pick<MessageContext, 'booking' | 'librarian' | 'student' | 'companions' | 'previous'>;

export interface ComposedMessage {
  subject: string;
  text: string;
  html: string;
  ics: string;
  method: InviteMethod;
}

/** User text bound for a mail header: no CR/LF or other controls, so it cannot add headers. */
export function headerText(value: string): string {
  const withoutControls = Array.from(value, (character) => {
    const code = character.charCodeAt(0);
    return code < 32 || code === 127 ? ' ' : character;
  }).join('');
  return withoutControls.replace(/\s+/g, ' ').trim();
}

function span(startMs: number, endMs: number, timeZone: string): string {
  const start = DateTime.fromMillis(startMs, { zone: timeZone });
  const end = DateTime.fromMillis(endMs, { zone: timeZone });
  return `${start.toFormat('cccc d LLLL yyyy, HH:mm')}–${end.toFormat('HH:mm')} (${start.toFormat('ZZZZ')}, ${timeZone})`;
}

function when(context: Pick<MessageContext, 'booking'>): string {
  return span(context.booking.startMs, context.booking.endMs, context.booking.timeZone);
}

function where(context: MessageContext): string {
  return context.booking.mode === 'online'
    ? `Online${context.booking.meetingUrl ? `: ${context.booking.meetingUrl}` : ' (the link will follow)'}`
    : (context.booking.location ?? 'In person (the library will confirm the room)');
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

function headline(context: MessageContext, studentName: string, librarianName: string): string {
  const { kind, recipientRole: role } = context;
  if (kind === 'reminder') return `Reminder: library session with ${librarianName}`;
  if (isCancellation(context)) {
    return role === 'companion' && context.booking.status !== 'cancelled'
      ? `You are no longer invited to ${studentName}'s library session`
      : `Cancelled: library session${role === 'librarian' ? ` with ${studentName}` : ` with ${librarianName}`}`;
  }
  if (kind === 'booking_rescheduled')
    return `Moved: library session${role === 'librarian' ? ` with ${studentName}` : ` with ${librarianName}`}`;
  if (kind === 'companion_declined') return `Your companion can't come to your session with ${librarianName}`;
  if (role === 'companion') return `${studentName} invited you to a library session with ${librarianName}`;
  if (role === 'librarian') {
    return kind === 'booking_created' ? `New booking: ${studentName}` : `Updated: session with ${studentName}`;
  }
  return `Confirmed: library session with ${librarianName}`;
}

/** The email with a one-time sign-in link (15 minutes, single use). */
export function composeSignInMessage(url: string): Pick<ComposedMessage, 'subject' | 'text' | 'html'> {
  const lines = [
    'Use this link to sign in to library appointments. It works once, for 15 minutes.',
    '',
    url,
    '',
    'If you did not ask to sign in, you can ignore this email: nobody can sign in without the link.',
  ];
  return {
    subject: 'Your sign-in link for library appointments',
    text: lines.join('\n'),
    html: [
      '<!doctype html><html><body style="font-family: sans-serif">',
      `<p>${escapeMarkup(lines[0] as string)}</p>`,
      `<p><a href="${escapeMarkup(url)}">Sign in</a></p>`,
      `<p>${escapeMarkup(lines[4] as string)}</p>`,
      '</body></html>',
    ].join('\n'),
  };
}

/** Subject, plain text, HTML and invite for one recipient. Pure: all it needs is in `context`. */
export function composeMessage(context: MessageContext): ComposedMessage {
  const studentName = headerText(context.student.name ?? 'A student');
  const librarianName = headerText(context.librarian.name);
  const cancelled = isCancellation(context);
  const method: InviteMethod = cancelled ? 'CANCEL' : 'REQUEST';
  const subject = headerText(`${headline(context, studentName, librarianName)}, ${when(context)}`);
  const activeCompanions = context.companions.filter((companion) => companion.status === 'invited');

  const isMove = context.kind === 'booking_rescheduled' && !cancelled && context.previous;
  // The student (and their friends, often from the same place) also see the time where they are.
  const theirZone = context.booking.studentTimeZone;
  const showsTheirTime = context.recipientRole !== 'librarian' && theirZone && theirZone !== context.booking.timeZone;
  const lines: [string, string][] = [
    ...(isMove && context.previous
      ? ([
          ['Was', span(context.previous.startMs, context.previous.endMs, context.booking.timeZone)],
          ['Now', when(context)],
        ] as [string, string][])
      : ([['When', when(context)]] as [string, string][])),
    ...(showsTheirTime && theirZone
      ? ([['Your time', span(context.booking.startMs, context.booking.endMs, theirZone)]] as [string, string][])
      : []),
    ['Where', where(context)],
    ['With', `${context.librarian.name} (librarian)`],
    ['Student', context.student.name ?? 'A student'],
  ];
  if (activeCompanions.length > 0)
    lines.push(['Companion', activeCompanions.map((c) => c.name ?? 'A companion').join(', ')]);
  if (context.booking.topic) lines.push(['Topic', context.booking.topic]);
  if (context.booking.status === 'cancelled' && context.booking.cancellationReason) {
    lines.push(['Reason', context.booking.cancellationReason]);
  }
  const linkLabel =
    context.recipientRole === 'companion'
      ? 'See the session, or decline'
      : context.recipientRole === 'student'
        ? 'Manage your booking (reschedule, cancel, change your companion)'
        : 'The booking (sign in)';

  const text = [
    headline(context, studentName, librarianName),
    '',
    ...lines.map(([label, value]) => `${label}: ${value}`),
    '',
    ...(cancelled ? [] : [`${linkLabel}: ${context.manageUrl}`]),
    '',
    'The calendar invitation is attached.',
  ].join('\n');

  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<h1 style="font-size: 1.2em">${escapeMarkup(headline(context, studentName, librarianName))}</h1>`,
    '<table>',
    ...lines.map(
      ([label, value]) => `<tr><th align="left">${escapeMarkup(label)}</th><td>${escapeMarkup(value)}</td></tr>`,
    ),
    '</table>',
    cancelled ? '' : `<p><a href="${escapeMarkup(context.manageUrl)}">${escapeMarkup(linkLabel)}</a></p>`,
    '<p>The calendar invitation is attached.</p>',
    '</body></html>',
  ].join('\n');

  // Invites are forwarded and synced to shared calendars: they carry no manage link.
  const event = sessionEvent(
    context,
    cancelled,
    lines
      .filter(([label]) => !['When', 'Was', 'Now', 'Your time'].includes(label))
      .map(([label, value]) => `${label}: ${value}`),
  );
  return { subject, text, html, ics: renderInvite(method, [event]), method };
}

/** The calendar event for a session as one recipient should see it. */
export function sessionEvent(
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
    summary: `Library session: ${context.student.name ?? 'student'} with ${context.librarian.name}`,
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
export function composeFeedbackMessage(context: {
  recipientRole: 'student' | 'companion';
  librarianName: string;
  startMs: number;
  endMs: number;
  timeZone: string;
  url: string;
}): Pick<ComposedMessage, 'subject' | 'text' | 'html'> {
  const librarian = headerText(context.librarianName);
  const when = span(context.startMs, context.endMs, context.timeZone);
  const intro =
    context.recipientRole === 'companion'
      ? `Thank you for going along as a friend to a library session with ${librarian} on ${when}.`
      : `Thank you for coming to your library session with ${librarian} on ${when}.`;
  const lines = [
    intro,
    '',
    'Would you tell us how it went? Three short questions, all optional, take under a minute. Your answers help the library make these sessions less daunting for other students.',
    '',
    context.url,
    '',
    `The link is yours alone and works for ${FEEDBACK_LINK_DAYS} days; you can change your answers until then.`,
  ];
  return {
    subject: `How was your library session with ${librarian}?`,
    text: lines.join('\n'),
    html: [
      '<!doctype html><html><body style="font-family: sans-serif">',
      `<p>${escapeMarkup(intro)}</p>`,
      `<p>${escapeMarkup(lines[2] as string)}</p>`,
      `<p><a href="${escapeMarkup(context.url)}">Tell us how it went</a></p>`,
      `<p>${escapeMarkup(lines[6] as string)}</p>`,
      '</body></html>',
    ].join('\n'),
  };
}
