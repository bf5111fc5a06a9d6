import type { FastifyRequest } from 'fastify';
import { InvalidInput } from '../errors.js';

/** Years the service accepts anywhere: wide enough for archives and plans, narrow enough for Date. */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2200;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return false;
  // Day 0 of the next month is the last day of this one; the years here are all four-digit.
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A calendar date YYYY-MM-DD between MIN_YEAR and MAX_YEAR. */
export function isIsoDate(value: string): boolean {
  const match = DATE.exec(value);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

/**
 * An instant with its offset that every part of the service can read: a real calendar date, no
 * leap second (23:59:60), an offset of ±HH:MM or Z, and a year between MIN_YEAR and MAX_YEAR.
 */
export function isIsoInstant(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match;
  if (!isCalendarDate(Number(year), Number(month), Number(day))) return false;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return false;
  if (offsetHours !== undefined && (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)) return false;
  return !Number.isNaN(Date.parse(value));
}

export const FORMAT_MESSAGES: Record<string, string> = {
  'date-time': `must be a date and time with its offset, e.g. 2027-03-29T09:00:00+08:00 (include the offset, e.g. +08:00; years ${MIN_YEAR}–${MAX_YEAR})`,
  date: `must be a date such as 2027-03-29 (years ${MIN_YEAR}–${MAX_YEAR})`,
};

// NUL cannot be stored in PostgreSQL text; the other C0 controls (but tab, CR and LF) and DEL are
// never meaningful in names, topics or filters, and some break mail headers or CSV.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The JSON Pointer of the first string (or key) in `value` that holds a control character. Walks
 * with a stack of its own, not recursion, so no nesting can overflow the call stack.
 */
export function findControlCharacter(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']];
  while (pending.length > 0) {
    const [item, pointer] = pending.pop() as [unknown, string];
    if (typeof item === 'string') {
      if (CONTROL.test(item)) return pointer || '/';
    } else if (Array.isArray(item)) {
      // Pushed in reverse, so the first offending item is the one found.
      for (let index = item.length - 1; index >= 0; index--) pending.push([item[index], `${pointer}/${index}`]);
    } else if (item && typeof item === 'object') {
      const entries = Object.entries(item);
      for (const [key] of entries) if (CONTROL.test(key)) return `${pointer}/${escapePointer(key)}`;
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, child] = entries[index] as [string, unknown];
        pending.push([child, `${pointer}/${escapePointer(key)}`]);
      }
    }
  }
  return undefined;
}

/**
 * The name of the first query or path value that reads as an infinite number ("Infinity", "1e400"):
 * the validator turns such a string into Infinity when the schema wants a number and then skips
 * its limits (ajv checks minimum and maximum on finite numbers only), so ?limit=Infinity reached
 * the database. No route takes an infinite number.
 */
function findInfiniteNumber(values: unknown): string | undefined {
  if (!values || typeof values !== 'object') return undefined;
  for (const [name, value] of Object.entries(values)) {
    for (const one of [value].flat()) {
      if (typeof one === 'string' && one.trim() !== '' && Math.abs(Number(one)) === Number.POSITIVE_INFINITY)
        return `/${escapePointer(name)}`;
    }
  }
  return undefined;
}

/** preValidation: refuses control characters anywhere in the request, naming the field. */
export async function refuseControlCharacters(request: FastifyRequest): Promise<void> {
  const parts = [
    ['params', request.params],
    ['query', request.query],
    ['body', request.body],
  ] as const;
  for (const [where, value] of parts) {
    const infinite = where === 'body' ? undefined : findInfiniteNumber(value);
    if (infinite) {
      throw new InvalidInput(`The request is invalid: ${where} ${infinite} must be a finite number.`, [
        { pointer: infinite, in: where, message: 'must be a finite number' },
      ]);
    }
    const pointer = findControlCharacter(value);
    if (pointer) {
      throw new InvalidInput(`The request is invalid: ${where} ${pointer} contains a control character.`, [
        { pointer, in: where, message: 'must not contain control characters (such as NUL)' },
      ]);
    }
  }
}
