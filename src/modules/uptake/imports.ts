import type { Database } from '../../db/client.js';
import { bookings, companions, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { type FieldError, RuleViolation } from '../../errors.js';
import { isIsoInstant, MAX_YEAR, MIN_YEAR } from '../../http/validation.js';
import type { Clock } from '../../time/clock.js';
import { CsvUnreadable, readCsvRecords } from '../../untrusted/csv.js';
import type { CategoryService } from '../categories/service.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';

export const IMPORT_OUTCOMES = ['attended', 'no_show', 'cancelled', 'late_cancelled'] as const;
const OUTCOMES = IMPORT_OUTCOMES;
type Outcome = (typeof OUTCOMES)[number];
/** The columns every import file has, before one column per category question. */
export const IMPORT_COLUMNS = ['start', 'minutes', 'librarian_email', 'student_ref', 'companion', 'outcome'] as const;
const CSV_COLUMNS: readonly string[] = IMPORT_COLUMNS;
const BATCH = 500;

/**
 * What can be wrong with one session (one row). The API words each in English (`message`); a page
 * words it from the catalogue (`admin.imports.problem.<kind>`), so it keeps the parts apart.
 */
export type ImportProblem =
  | { kind: 'notObject' }
  | { kind: 'start' }
  | { kind: 'minutes' }
  | { kind: 'librarian'; email: string }
  | { kind: 'studentRef' }
  | { kind: 'companion' }
  | { kind: 'outcome'; allowed: string }
  | { kind: 'categories' }
  | { kind: 'categoryUnknown'; key: string }
  | { kind: 'categoryValue'; key: string; allowed: string };
export const IMPORT_PROBLEM_KINDS: ImportProblem['kind'][] = [
  'notObject',
  'start',
  'minutes',
  'librarian',
  'studentRef',
  'companion',
  'outcome',
  'categories',
  'categoryUnknown',
  'categoryValue',
];

/** What is wrong with the file as a whole: unreadable CSV, or a wrong header. */
export type ImportFileProblem =
  | { kind: 'csv'; line: number | null }
  | { kind: 'header'; missing: string[]; unknown: string[] };

export interface ImportError {
  line: number;
  /** The problems in English, for the API. */
  message: string;
  problems: ImportProblem[];
}

/** An import refused: nothing was imported. `file` or `lines` says why, in parts a page can word. */
export class ImportRefused extends RuleViolation {
  constructor(
    detail: string,
    errors: FieldError[],
    readonly file: ImportFileProblem | null,
    readonly lines: ImportError[] = [],
  ) {
    super('import_invalid', detail, errors);
  }
}

function englishProblem(problem: ImportProblem): string {
  switch (problem.kind) {
    case 'notObject':
      return 'must be an object';
    case 'start':
      return `start must be an ISO 8601 date-time with an offset (years ${MIN_YEAR}–${MAX_YEAR})`;
    case 'minutes':
      return 'minutes must be a whole number from 1 to 480';
    case 'librarian':
      return `librarianEmail ${problem.email} is not a librarian`;
    case 'studentRef':
      return 'studentRef must be 1 to 100 characters';
    case 'companion':
      return 'companion must be true or false';
    case 'outcome':
      return `outcome must be one of ${problem.allowed}`;
    case 'categories':
      return 'categories must be an object';
    case 'categoryUnknown':
      return `category ${problem.key} is not defined`;
    case 'categoryValue':
      return `${problem.key} must be one of ${problem.allowed}`;
  }
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

/** The most sessions one import takes, CSV or JSON (the JSON body's maxItems). */
export const MAX_IMPORT_SESSIONS = 100_000;

async function parseCsv(text: string): Promise<string[][]> {
  try {
    // The header and at most MAX_IMPORT_SESSIONS sessions are read, however long the file.
    const { records, more } = await readCsvRecords(text, MAX_IMPORT_SESSIONS + 1);
    if (more) {
      const message = `has more than ${MAX_IMPORT_SESSIONS} sessions: split it into several files`;
      throw new ImportRefused(`The file ${message}.`, [{ pointer: '/', in: 'body', message }], {
        kind: 'csv',
        line: MAX_IMPORT_SESSIONS + 2,
      });
    }
    return records;
  } catch (error) {
    if (!(error instanceof CsvUnreadable)) throw error;
    // csv-parse says where (an unclosed quote, a stray quote in a field): pass the line on.
    const where = error.line !== null ? ` at line ${error.line}` : '';
    throw new ImportRefused(
      `The body is not readable as CSV${where}: ${error.reason}`,
      [{ pointer: '/', in: 'body', message: `is not valid CSV${where}` }],
      { kind: 'csv', line: error.line },
    );
  }
}

async function csvSessions(
  text: string,
  dimensions: string[],
): Promise<{ sessions: RawSession[]; headerError?: { text: string; missing: string[]; unknown: string[] } }> {
  const records = await parseCsv(text);
  const [header = [], ...rows] = records;
  const missing = CSV_COLUMNS.filter((column) => !header.includes(column));
  const unknown = header.filter((column) => !CSV_COLUMNS.includes(column) && !dimensions.includes(column));
  if (missing.length > 0 || unknown.length > 0) {
    return {
      sessions: [],
      headerError: {
        text: [
          missing.length > 0 ? `missing columns: ${missing.join(', ')}` : '',
          unknown.length > 0 ? `unknown columns (not category dimensions): ${unknown.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
        missing,
        unknown,
      },
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
    /** Imports past sessions; each import is written in the staff record (counts only) as `actor`'s. */
    async importSessions(
      input: { json?: unknown[]; csv?: string },
      options: { skipInvalid: boolean },
      actor: StaffActor,
    ) {
      const definitions = await categories.listDimensions();
      const dimensions = definitions.map((dimension) => dimension.key);
      let raw: RawSession[];
      if (input.csv !== undefined) {
        const parsed = await csvSessions(input.csv, dimensions);
        if (parsed.headerError) {
          const { text, missing, unknown } = parsed.headerError;
          throw new ImportRefused(`The CSV header is wrong: ${text}.`, [{ pointer: '/', in: 'body', message: text }], {
            kind: 'header',
            missing,
            unknown,
          });
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
        const problems: ImportProblem[] = [];
        if (typeof session !== 'object' || session === null) {
          problems.push({ kind: 'notObject' });
          errors.push({ line, message: problems.map(englishProblem).join('; '), problems });
          return;
        }
        const start = typeof session.start === 'string' && isIsoInstant(session.start) ? new Date(session.start) : null;
        if (!start || Number.isNaN(start.getTime())) problems.push({ kind: 'start' });
        const minutes = session.minutes;
        if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 480) {
          problems.push({ kind: 'minutes' });
        }
        let librarianId: string | null = null;
        if (session.librarianEmail !== undefined && session.librarianEmail !== null) {
          librarianId =
            typeof session.librarianEmail === 'string'
              ? (librarianByEmail.get(session.librarianEmail.toLowerCase()) ?? null)
              : null;
          if (!librarianId) problems.push({ kind: 'librarian', email: String(session.librarianEmail) });
        }
        const studentRef = typeof session.studentRef === 'string' ? session.studentRef.trim() : '';
        if (studentRef.length < 1 || studentRef.length > 100) problems.push({ kind: 'studentRef' });
        if (typeof session.companion !== 'boolean') problems.push({ kind: 'companion' });
        if (!OUTCOMES.includes(session.outcome as Outcome))
          problems.push({ kind: 'outcome', allowed: OUTCOMES.join(', ') });
        const sessionCategories = (session.categories ?? {}) as Record<string, unknown>;
        if (typeof sessionCategories !== 'object' || Array.isArray(sessionCategories))
          problems.push({ kind: 'categories' });
        for (const [key, value] of Object.entries(sessionCategories)) {
          const dimension = definitions.find((candidate) => candidate.key === key);
          if (!dimension) problems.push({ kind: 'categoryUnknown', key });
          else if (!dimension.values.some((candidate) => candidate.value === value)) {
            problems.push({ kind: 'categoryValue', key, allowed: dimension.values.map((v) => v.value).join(', ') });
          }
        }
        if (problems.length > 0) {
          errors.push({ line, message: problems.map(englishProblem).join('; '), problems });
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
        throw new ImportRefused(
          `${errors.length} of ${raw.length} sessions are invalid; nothing was imported. Fix them, or send ?skipInvalid=true.`,
          errors.map((error) => ({
            pointer: `/sessions/${error.line - 1}`,
            in: 'body',
            message: `line ${error.line}: ${error.message}`,
          })),
          null,
          errors,
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
        // Counts only: the sessions themselves are in the figures, and their references are students'.
        await recordStaffAction(tx, now, {
          actor,
          action: 'sessions.imported',
          after: {
            format: input.csv !== undefined ? 'csv' : 'json',
            imported,
            alreadyThere: valid.length - imported,
            invalidSkipped: errors.length,
          },
        });
      });
      return { imported, skipped: valid.length - imported, errors };
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
