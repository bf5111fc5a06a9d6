import { RuleViolation } from '../../errors.js';
import { CsvUnreadable, readCsvRecords } from '../../untrusted/csv.js';
import type { Dimension } from '../categories/schemas.js';

/** The most people one cohort may hold. */
export const MAX_COHORT = 50_000;
/** The columns a cohort file may have besides one per category question; only email is required. */
export const COHORT_COLUMNS = ['email', 'student_ref', 'first_name'] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface CohortPerson {
  email: string;
  studentRef: string | null;
  firstName: string | null;
  categories: Record<string, string>;
}

/** One line's problems, numbered as the file's lines are (the header is line 1). */
export interface CohortLineError {
  line: number;
  message: string;
}

/** A cohort file refused: nothing was saved; `lines` says what is wrong, line by line (at most 100). */
export class CohortRefused extends RuleViolation {
  constructor(
    detail: string,
    readonly lines: CohortLineError[],
  ) {
    super(
      'cohort_invalid',
      detail,
      lines
        .slice(0, 100)
        .map((error) => ({ pointer: '/', in: 'body', message: `line ${error.line}: ${error.message}` })),
    );
  }
}

/**
 * Reads a cohort file: a header of email, optional student_ref and first_name, and optional
 * columns named after category questions (values must be that question's values, or empty).
 * Every line is checked; any wrong line refuses the whole file.
 */
export async function parseCohortCsv(text: string, dimensions: readonly Dimension[]): Promise<CohortPerson[]> {
  let records: string[][];
  let more: boolean;
  try {
    // The header and at most MAX_COHORT people are read, however long the file.
    ({ records, more } = await readCsvRecords(text, MAX_COHORT + 1));
  } catch (error) {
    if (!(error instanceof CsvUnreadable)) throw error;
    throw new CohortRefused('The file is not readable as CSV.', [
      { line: error.line ?? 1, message: 'is not valid CSV (look for an unclosed quote)' },
    ]);
  }
  const [header = [], ...rows] = records;
  const columns = header.map((column) => column.toLowerCase());
  const known = new Set<string>([...COHORT_COLUMNS, ...dimensions.map((dimension) => dimension.key)]);
  const unknown = columns.filter((column) => !known.has(column));
  if (!columns.includes('email') || unknown.length > 0) {
    throw new CohortRefused('The first line must name the columns.', [
      {
        line: 1,
        message: [
          columns.includes('email') ? '' : 'an email column is required',
          unknown.length > 0
            ? `unknown columns: ${unknown.join(', ')} (use email, student_ref, first_name and the category questions' keys)`
            : '',
        ]
          .filter(Boolean)
          .join('; '),
      },
    ]);
  }
  if (more) {
    throw new CohortRefused(`A cohort holds at most ${MAX_COHORT} people; this file has more.`, [
      { line: MAX_COHORT + 2, message: `is past the limit of ${MAX_COHORT} people` },
    ]);
  }
  const at = (row: string[], column: string) => {
    const index = columns.indexOf(column);
    return index >= 0 ? (row[index] ?? '') : '';
  };
  const errors: CohortLineError[] = [];
  const people: CohortPerson[] = [];
  rows.forEach((row, index) => {
    const line = index + 2;
    const problems: string[] = [];
    const email = at(row, 'email').toLowerCase();
    if (!EMAIL.test(email) || email.length > 254) problems.push('email is not an email address');
    const studentRef = at(row, 'student_ref');
    if (studentRef.length > 100) problems.push('student_ref is longer than 100 characters');
    const firstName = at(row, 'first_name');
    if (firstName.length > 100) problems.push('first_name is longer than 100 characters');
    const categories: Record<string, string> = {};
    for (const dimension of dimensions) {
      const value = at(row, dimension.key);
      if (!value) continue;
      if (!dimension.values.some((candidate) => candidate.value === value)) {
        problems.push(
          `${dimension.key} must be one of ${dimension.values.map((candidate) => candidate.value).join(', ')}`,
        );
      } else {
        categories[dimension.key] = value;
      }
    }
    if (problems.length > 0) errors.push({ line, message: problems.join('; ') });
    else people.push({ email, studentRef: studentRef || null, firstName: firstName || null, categories });
  });
  if (errors.length > 0) {
    throw new CohortRefused(
      `${errors.length} of ${rows.length} lines are wrong; nothing was saved. Fix them and upload the file again.`,
      errors,
    );
  }
  return people;
}

/** One entry per email (the first line's details, filled in from later ones); and how many merged. */
export function mergeDuplicates(people: readonly CohortPerson[]): { people: CohortPerson[]; merged: number } {
  const byEmail = new Map<string, CohortPerson>();
  for (const person of people) {
    const first = byEmail.get(person.email);
    if (!first) {
      byEmail.set(person.email, { ...person, categories: { ...person.categories } });
      continue;
    }
    first.studentRef ??= person.studentRef;
    first.firstName ??= person.firstName;
    first.categories = { ...person.categories, ...first.categories };
  }
  return { people: [...byEmail.values()], merged: people.length - byEmail.size };
}
