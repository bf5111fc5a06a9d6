import { DateTime } from 'luxon';

// Which freed times suit a waiting student, and how long an offer holds one. Pure.

export const BROADCAST_WITHIN_MS = 2 * 60 * 60_000;

/** What a student asked for, in the library's zone. */
export interface Wish {
  fromDate: string;
  toDate: string;
  /** ISO weekdays; empty: any. */
  weekdays: number[];
  /** HH:MM; null: any time. */
  earliest: string | null;
  latest: string | null;
}

/** Whether a time [startMs, endMs) is one the student asked for: in their dates, on their days, between their times. */
export function suits(wish: Wish, startMs: number, endMs: number, zone: string): boolean {
  const start = DateTime.fromMillis(startMs, { zone });
  const end = DateTime.fromMillis(endMs, { zone });
  const date = start.toISODate() as string;
  if (date < wish.fromDate || date > wish.toDate) return false;
  if (wish.weekdays.length > 0 && !wish.weekdays.includes(start.weekday)) return false;
  if (wish.earliest && start.toFormat('HH:mm') < wish.earliest) return false;
  // An end at midnight is the day's end, not its start.
  const endTime = end.toISODate() !== date ? '24:00' : end.toFormat('HH:mm');
  if (wish.latest && endTime > wish.latest) return false;
  return true;
}

/**
 * How an offer of a time starting at `startMs` is made at `nowMs`: held for one student until
 * WAITLIST_HOLD_MINUTES have passed or the librarian's notice begins, whichever is sooner; within
 * 2 hours of the start, or when no hold would be left, sent to every matching student at once
 * (broadcast) until the notice begins.
 */
export function offerTerms(
  startMs: number,
  nowMs: number,
  holdMinutes: number,
  minNoticeMinutes: number,
): { broadcast: boolean; expiresMs: number } | null {
  const noticeMs = startMs - minNoticeMinutes * 60_000;
  if (noticeMs <= nowMs) return null;
  if (startMs - nowMs <= BROADCAST_WITHIN_MS) return { broadcast: true, expiresMs: noticeMs };
  return { broadcast: false, expiresMs: Math.min(nowMs + holdMinutes * 60_000, noticeMs) };
}
