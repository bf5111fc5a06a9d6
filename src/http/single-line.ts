// Line and paragraph breaks of every kind, and the other whitespace that would start a new line
// or column in a mail header, a calendar property or a CSV cell.
const BREAKS = /[\r\n\t\v\f\u0085\u2028\u2029]+/g;

/**
 * A name or other one-line field as it is stored and shown: line breaks (and tabs) collapsed to one
 * space, ends trimmed. Applied where such text enters (token claims, companions, librarians), so
 * "Comp\r\nSubject: x" can never become a second line of an email.
 */
export function singleLine(value: string): string {
  return value.replace(BREAKS, ' ').replace(/ {2,}/g, ' ').trim();
}

/** singleLine for an optional field. */
export function singleLineOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : singleLine(value);
}
