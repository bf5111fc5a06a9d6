import { asc, eq, notInArray } from 'drizzle-orm';
import { type Static, Type } from 'typebox';
import type { Database, Executor } from '../../db/client.js';
import { cohorts, terms } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { type FieldError, InvalidInput, RuleViolation } from '../../errors.js';
import { IsoDate } from '../../http/formats.js';
import type { Clock } from '../../time/clock.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';
import type { CategoryService } from './service.js';

export const Term = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, examples: ['Autumn 2026'] }),
    startsOn: IsoDate('First day (inclusive)'),
    endsOn: IsoDate('Last day (inclusive)'),
  },
  { additionalProperties: false },
);
export const TermList = Type.Object({ terms: Type.Array(Term, { maxItems: 200 }) }, { additionalProperties: false });
export type TermList = Static<typeof TermList>;

export const Cohort = Type.Object(
  {
    term: Type.String({ minLength: 1, maxLength: 100, description: 'Term name' }),
    dimension: Type.String({ maxLength: 40, examples: ['fee_status'] }),
    value: Type.String({ maxLength: 40, examples: ['international'] }),
    size: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Enrolled students' }),
  },
  { additionalProperties: false },
);
export const CohortList = Type.Object(
  { cohorts: Type.Array(Cohort, { maxItems: 10_000 }) },
  { additionalProperties: false },
);
export type CohortList = Static<typeof CohortList>;

/** Terms and cohort sizes: the periods and denominators analysts need for uptake rates. */
/** A cohort's key in the staff record's before and after: "term / dimension / value". */
function cohortKey(cohort: { term: string; dimension: string; value: string }): string {
  return `${cohort.term} / ${cohort.dimension} / ${cohort.value}`;
}

export function createTermService({
  db,
  clock,
  categories,
}: {
  db: Database;
  clock: Clock;
  categories: CategoryService;
}) {
  async function listTerms(executor: Executor = db) {
    const rows = await executor.select().from(terms).orderBy(asc(terms.startsOn));
    return rows.map((row) => ({ name: row.name, startsOn: row.startsOn, endsOn: row.endsOn }));
  }

  async function listCohorts(executor: Executor = db) {
    const rows = await executor
      .select({ term: terms.name, dimension: cohorts.dimension, value: cohorts.value, size: cohorts.size })
      .from(cohorts)
      .innerJoin(terms, eq(terms.id, cohorts.termId))
      .orderBy(asc(terms.startsOn), asc(cohorts.dimension), asc(cohorts.value));
    return rows;
  }

  return {
    listTerms,
    listCohorts,

    /** Replaces the terms; a term kept by name keeps its cohorts. */
    async putTerms(input: TermList['terms'], actor: StaffActor) {
      const errors: FieldError[] = [];
      input.forEach((term, index) => {
        if (term.endsOn < term.startsOn)
          errors.push({ pointer: `/terms/${index}/endsOn`, in: 'body', message: 'must be on or after startsOn' });
        if (input.findIndex((other) => other.name === term.name) !== index) {
          errors.push({ pointer: `/terms/${index}/name`, in: 'body', message: 'is a duplicate' });
        }
      });
      if (errors.length > 0) throw new InvalidInput('Some terms are invalid.', errors);
      await transaction(db, async (tx) => {
        const before = await listTerms(tx);
        const names = input.map((term) => term.name);
        await tx.delete(terms).where(names.length > 0 ? notInArray(terms.name, names) : undefined);
        for (const term of input) {
          await tx
            .insert(terms)
            .values(term)
            .onConflictDoUpdate({ target: terms.name, set: { startsOn: term.startsOn, endsOn: term.endsOn } });
        }
        const after = await listTerms(tx);
        if (JSON.stringify(before) !== JSON.stringify(after)) {
          await recordStaffAction(tx, clock.now(), {
            actor,
            action: 'terms.changed',
            before: { terms: before },
            after: { terms: after },
          });
        }
      });
      return listTerms();
    },

    async putCohorts(input: CohortList['cohorts'], actor: StaffActor) {
      const termRows = await db.select().from(terms);
      const dimensions = await categories.listDimensions();
      const errors: FieldError[] = [];
      input.forEach((cohort, index) => {
        if (!termRows.some((term) => term.name === cohort.term))
          errors.push({ pointer: `/cohorts/${index}/term`, in: 'body', message: 'is not a term' });
        const dimension = dimensions.find((candidate) => candidate.key === cohort.dimension);
        if (!dimension)
          errors.push({ pointer: `/cohorts/${index}/dimension`, in: 'body', message: 'is not a category dimension' });
        else if (!dimension.values.some((value) => value.value === cohort.value)) {
          errors.push({
            pointer: `/cohorts/${index}/value`,
            in: 'body',
            message: `must be one of ${dimension.values.map((v) => v.value).join(', ')}`,
          });
        }
      });
      if (errors.length > 0)
        throw new RuleViolation('invalid_cohort', 'Some cohorts refer to unknown terms or categories.', errors);
      await transaction(db, async (tx) => {
        const before = new Map((await listCohorts(tx)).map((cohort) => [cohortKey(cohort), cohort.size]));
        await tx.delete(cohorts);
        if (input.length > 0) {
          await tx.insert(cohorts).values(
            input.map((cohort) => ({
              termId: termRows.find((term) => term.name === cohort.term)?.id as string,
              dimension: cohort.dimension,
              value: cohort.value,
              size: cohort.size,
            })),
          );
        }
        // Only the sizes that changed (a cohort list can hold thousands): key → size, null when absent.
        const after = new Map((await listCohorts(tx)).map((cohort) => [cohortKey(cohort), cohort.size]));
        const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
          (key) => before.get(key) !== after.get(key),
        );
        if (changed.length > 0) {
          await recordStaffAction(tx, clock.now(), {
            actor,
            action: 'cohorts.changed',
            before: Object.fromEntries(changed.map((key) => [key, before.get(key) ?? null])),
            after: Object.fromEntries(changed.map((key) => [key, after.get(key) ?? null])),
          });
        }
      });
      return listCohorts();
    },
  };
}

export type TermService = ReturnType<typeof createTermService>;
