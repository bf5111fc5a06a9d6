/** Longest meeting link accepted, on every path (API, staff pages). */
export const MEETING_URL_MAX_LENGTH = 500;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A meeting link a student may be sent to: https, or http on this machine only (tests, a local
 * demo). Anything else (javascript:, data:, http elsewhere, unparseable) is refused.
 */
export function isMeetingUrl(value: string): boolean {
  if (value.length > MEETING_URL_MAX_LENGTH || /\s/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

/** A stored link as it may be shown or sent: null unless it is still a meeting link (rows from before the rule). */
export function shownMeetingUrl(value: string | null): string | null {
  return value !== null && isMeetingUrl(value) ? value : null;
}
