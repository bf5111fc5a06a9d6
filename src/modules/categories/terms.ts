import { asc, eq, notInArray } from 'drizzle-orm';
import { type Static, Type } from 'typebox';
import type { Database } from '../../db/client.js';
import { cohorts, terms } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { type FieldError, InvalidInput, RuleViolation } from '../../errors.js';
import { IsoDate } from '../../http/formats.js';
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
export function createTermService({ db, categories }: { db: Database; categories: CategoryService }) {
  async function listTerms() {
    const rows = await db.select().from(terms).orderBy(asc(terms.startsOn));
    return rows.map((row) => ({ name: row.name, startsOn: row.startsOn, endsOn: row.endsOn }));
  }

  async function listCohorts() {
    const rows = await db
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
    async putTerms(input: TermList['terms']) {
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
        const names = input.map((term) => term.name);
        await tx.delete(terms).where(names.length > 0 ? notInArray(terms.name, names) : undefined);
        for (const term of input) {
          await tx
            .insert(terms)
            .values(term)
            .onConflictDoUpdate({ target: terms.name, set: { startsOn: term.startsOn, endsOn: term.endsOn } });
        }
      });
      return listTerms();
    },

    async putCohorts(input: CohortList['cohorts']) {
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
      });
      return listCohorts();
    },
  };
}

export type TermService = ReturnType<typeof createTermService>;
