import { parse } from 'csv-parse/sync';
import type { Database } from '../../db/client.js';
import { bookings, companions, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { RuleViolation } from '../../errors.js';
import { isIsoInstant, MAX_YEAR, MIN_YEAR } from '../../http/validation.js';
import type { Clock } from '../../time/clock.js';
import type { CategoryService } from '../categories/service.js';

const OUTCOMES = ['attended', 'no_show', 'cancelled', 'late_cancelled'] as const;
type Outcome = (typeof OUTCOMES)[number];
const CSV_COLUMNS = ['start', 'minutes', 'librarian_email', 'student_ref', 'companion', 'outcome'];
const BATCH = 500;

export interface ImportError {
  line: number;
  message: string;
}

interface ValidSession {
  line: number;
  startsAt: Date;
  minutes: number;
  librarianId: string | null;
  studentRef: string;
  categories: Record<string, string>;
  companion: boolean;
  outcome: Outcome;
}

/** A session as sent, JSON or CSV, before checking. */
interface RawSession {
  start?: unknown;
  minutes?: unknown;
  librarianEmail?: unknown;
  studentRef?: unknown;
  categories?: unknown;
  companion?: unknown;
  outcome?: unknown;
}

function parseCsv(text: string): string[][] {
  try {
    return parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][];
  } catch (error) {
    // csv-parse says where (an unclosed quote, a stray quote in a field): pass the line on.
    const line = (error as { lines?: unknown }).lines;
    const where = typeof line === 'number' ? ` at line ${line}` : '';
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '').split(', value is')[0] : '';
    throw new RuleViolation('import_invalid', `The body is not readable as CSV${where}: ${reason}`, [
      { pointer: '/', in: 'body', message: `is not valid CSV${where}` },
    ]);
  }
}

function csvSessions(text: string, dimensions: string[]): { sessions: RawSession[]; headerError?: string } {
  const records = parseCsv(text);
  const [header = [], ...rows] = records;
  const missing = CSV_COLUMNS.filter((column) => !header.includes(column));
  const unknown = header.filter((column) => !CSV_COLUMNS.includes(column) && !dimensions.includes(column));
  if (missing.length > 0 || unknown.length > 0) {
    return {
      sessions: [],
      headerError: [
        missing.length > 0 ? `missing columns: ${missing.join(', ')}` : '',
        unknown.length > 0 ? `unknown columns (not category dimensions): ${unknown.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    };
  }
  const at = (row: string[], column: string) => row[header.indexOf(column)];
  return {
    sessions: rows.map((row) => ({
      start: at(row, 'start'),
      minutes: at(row, 'minutes') === undefined || at(row, 'minutes') === '' ? undefined : Number(at(row, 'minutes')),
      librarianEmail: at(row, 'librarian_email') || undefined,
      studentRef: at(row, 'student_ref'),
      companion:
        ({ true: true, yes: true, '1': true, false: false, no: false, '0': false } as Record<string, boolean>)[
          (at(row, 'companion') ?? '').toLowerCase()
        ] ?? at(row, 'companion'),
      outcome: at(row, 'outcome'),
      categories: Object.fromEntries(
        header
          .filter((column) => dimensions.includes(column) && at(row, column))
          .map((column) => [column, at(row, column)]),
      ),
    })),
  };
}

/** Loads past consultations (e.g. from another booking system) so before/after comparisons are possible. */
export function createImportService({
  db,
  clock,
  categories,
}: {
  db: Database;
  clock: Clock;
  categories: CategoryService;
}) {
  return {
    async importSessions(input: { json?: unknown[]; csv?: string }, options: { skipInvalid: boolean }) {
      const definitions = await categories.listDimensions();
      const dimensions = definitions.map((dimension) => dimension.key);
      let raw: RawSession[];
      if (input.csv !== undefined) {
        const parsed = csvSessions(input.csv, dimensions);
        if (parsed.headerError) {
          throw new RuleViolation('import_invalid', `The CSV header is wrong: ${parsed.headerError}.`, [
            { pointer: '/', in: 'body', message: parsed.headerError },
          ]);
        }
        raw = parsed.sessions;
      } else {
        raw = (input.json ?? []) as RawSession[];
      }
      const librarianRows = await db.select({ id: librarians.id, email: librarians.email }).from(librarians);
      const librarianByEmail = new Map(librarianRows.map((row) => [row.email.toLowerCase(), row.id]));

      const errors: ImportError[] = [];
      const valid: ValidSession[] = [];
      raw.forEach((session, index) => {
        const line = index + 1;
        const problems: string[] = [];
        if (typeof session !== 'object' || session === null) {
          errors.push({ line, message: 'must be an object' });
          return;
        }
        const start = typeof session.start === 'string' && isIsoInstant(session.start) ? new Date(session.start) : null;
        if (!start || Number.isNaN(start.getTime()))
          problems.push(`start must be an ISO 8601 date-time with an offset (years ${MIN_YEAR}–${MAX_YEAR})`);
        const minutes = session.minutes;
        if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 480) {
          problems.push('minutes must be a whole number from 1 to 480');
        }
        let librarianId: string | null = null;
        if (session.librarianEmail !== undefined && session.librarianEmail !== null) {
          librarianId =
            typeof session.librarianEmail === 'string'
              ? (librarianByEmail.get(session.librarianEmail.toLowerCase()) ?? null)
              : null;
          if (!librarianId) problems.push(`librarianEmail ${String(session.librarianEmail)} is not a librarian`);
        }
        const studentRef = typeof session.studentRef === 'string' ? session.studentRef.trim() : '';
        if (studentRef.length < 1 || studentRef.length > 100) problems.push('studentRef must be 1 to 100 characters');
        if (typeof session.companion !== 'boolean') problems.push('companion must be true or false');
        if (!OUTCOMES.includes(session.outcome as Outcome))
          problems.push(`outcome must be one of ${OUTCOMES.join(', ')}`);
        const sessionCategories = (session.categories ?? {}) as Record<string, unknown>;
        if (typeof sessionCategories !== 'object' || Array.isArray(sessionCategories))
          problems.push('categories must be an object');
        for (const [key, value] of Object.entries(sessionCategories)) {
          const dimension = definitions.find((candidate) => candidate.key === key);
          if (!dimension) problems.push(`category ${key} is not defined`);
          else if (!dimension.values.some((candidate) => candidate.value === value)) {
            problems.push(`${key} must be one of ${dimension.values.map((v) => v.value).join(', ')}`);
          }
        }
        if (problems.length > 0) {
          errors.push({ line, message: problems.join('; ') });
          return;
        }
        valid.push({
          line,
          startsAt: start as Date,
          minutes: minutes as number,
          librarianId,
          studentRef: `i:${studentRef}`,
          categories: sessionCategories as Record<string, string>,
          companion: session.companion as boolean,
          outcome: session.outcome as Outcome,
        });
      });
      if (errors.length > 0 && !options.skipInvalid) {
        throw new RuleViolation(
          'import_invalid',
          `${errors.length} of ${raw.length} sessions are invalid; nothing was imported. Fix them, or send ?skipInvalid=true.`,
          errors.map((error) => ({
            pointer: `/sessions/${error.line - 1}`,
            in: 'body',
            message: `line ${error.line}: ${error.message}`,
          })),
        );
      }

      let imported = 0;
      const now = clock.now();
      await transaction(db, async (tx) => {
        for (let offset = 0; offset < valid.length; offset += BATCH) {
          const batch = valid.slice(offset, offset + BATCH);
          const inserted = await tx
            .insert(bookings)
            .values(
              batch.map((session) => {
                const endsAt = new Date(session.startsAt.getTime() + session.minutes * 60_000);
                const cancelled = session.outcome === 'cancelled' || session.outcome === 'late_cancelled';
                return {
                  librarianId: session.librarianId,
                  source: 'imported' as const,
                  studentRef: session.studentRef,
                  startsAt: session.startsAt,
                  endsAt,
                  occupiedUntil: endsAt,
                  status: cancelled ? ('cancelled' as const) : ('confirmed' as const),
                  mode: 'in_person' as const,
                  studentCategories: session.categories,
                  attendance: cancelled ? null : (session.outcome as 'attended' | 'no_show'),
                  lateCancellation: session.outcome === 'late_cancelled',
                  cancelledAt: cancelled ? session.startsAt : null,
                  cancelledBy: cancelled ? 'import' : null,
                  createdAt: now,
                  updatedAt: now,
                };
              }),
            )
            .onConflictDoNothing()
            .returning({
              id: bookings.id,
              startsAt: bookings.startsAt,
              librarianId: bookings.librarianId,
              studentRef: bookings.studentRef,
            });
          imported += inserted.length;
          const key = (startsAt: Date, librarianId: string | null, studentRef: string | null) =>
            `${startsAt.getTime()}|${librarianId ?? ''}|${studentRef}`;
          const withCompanion = new Set(
            batch.filter((s) => s.companion).map((s) => key(s.startsAt, s.librarianId, s.studentRef)),
          );
          const companionRows = inserted
            .filter((row) => withCompanion.has(key(row.startsAt, row.librarianId, row.studentRef)))
            .map((row) => ({ bookingId: row.id, name: null, createdAt: now, statusChangedAt: now }));
          if (companionRows.length > 0) await tx.insert(companions).values(companionRows);
        }
      });
      return { imported, skipped: valid.length - imported, errors };
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
