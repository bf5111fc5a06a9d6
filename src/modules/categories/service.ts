import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { statementName } from '../../db/prepared.js';
import { categoryDimensions, categoryValues, students } from '../../db/schema.js';
import { builtOnce, transaction } from '../../db/transaction.js';
import { type FieldError, InvalidInput, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';
import type { CategoryValues, Dimension, StudentProfile } from './schemas.js';

type StudentRow = typeof students.$inferSelect;

/** The defined categories as a scalar subquery (jsonb), to read with other facts in one statement. */
function dimensionsSql(): SQL<Dimension[]> {
  return sql<Dimension[]>`(select coalesce(jsonb_agg(jsonb_build_object(
      'key', d.key, 'label', d.label,
      'values', (select coalesce(jsonb_agg(jsonb_build_object('value', v.value, 'label', v.label) order by v.position), '[]'::jsonb)
                 from ${categoryValues} v where v.dimension_key = d.key))
    order by d.position), '[]'::jsonb)
    from ${categoryDimensions} d)`;
}

/** What is wrong with category values, given the defined dimensions: one error per bad key or value. */
export function categoryErrors(dimensions: Dimension[], categories: CategoryValues, pointerBase: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(categories)) {
    const dimension = dimensions.find((candidate) => candidate.key === key);
    if (!dimension) {
      errors.push({
        pointer: `${pointerBase}/${key}`,
        in: 'body',
        message: `is not a category (${dimensions.map((d) => d.key).join(', ')})`,
      });
    } else if (!dimension.values.some((candidate) => candidate.value === value)) {
      errors.push({
        pointer: `${pointerBase}/${key}`,
        in: 'body',
        message: `must be one of ${dimension.values.map((v) => v.value).join(', ')}`,
      });
    }
  }
  return errors;
}

/** 422 invalid_category naming every bad key or value, given the defined dimensions. */
export function assertCategories(dimensions: Dimension[], categories: CategoryValues, pointerBase: string): void {
  const errors = categoryErrors(dimensions, categories, pointerBase);
  if (errors.length > 0) throw new RuleViolation('invalid_category', 'Some category values are not defined.', errors);
}

export function createCategoryService({ db, clock }: { db: Database; clock: Clock }) {
  async function listDimensions(executor: Executor = db): Promise<Dimension[]> {
    const dimensions = await executor.select().from(categoryDimensions).orderBy(asc(categoryDimensions.position));
    const values = await executor.select().from(categoryValues).orderBy(asc(categoryValues.position));
    return dimensions.map((dimension) => ({
      key: dimension.key,
      label: dimension.label,
      values: values
        .filter((value) => value.dimensionKey === dimension.key)
        .map((value) => ({ value: value.value, label: value.label })),
    }));
  }

  /** Each key must be a dimension and each value one of its values; 422 naming every bad one. */
  async function checkCategories(categories: CategoryValues, pointerBase: string, executor: Executor = db) {
    assertCategories(await listDimensions(executor), categories, pointerBase);
  }

  /** The student record for a token, created on first use; name and email follow the token. */
  async function ensureStudent(user: AuthUser, executor: Executor = db): Promise<StudentRow> {
    const [existing] = await executor.select().from(students).where(eq(students.idpSubject, user.sub));
    if (existing && existing.email === user.email && existing.name === user.name) return existing;
    const [row] = await executor
      .insert(students)
      .values({
        idpSubject: user.sub,
        email: user.email,
        name: user.name,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      })
      .onConflictDoUpdate({
        target: students.idpSubject,
        set: { email: sql`excluded.email`, name: sql`excluded.name`, updatedAt: clock.now() },
      })
      .returning();
    return row as StudentRow;
  }

  /**
   * The student record for a token, created on first use, name and email following the token,
   * and locked FOR UPDATE until the caller's transaction ends: one statement (an upsert always
   * locks the row it lands on, and returns it as it now is).
   */
  function prepareLock(executor: Executor) {
    const now = sql.placeholder('now');
    return executor
      .insert(students)
      .values({
        idpSubject: sql.placeholder('sub'),
        email: sql.placeholder('email'),
        name: sql.placeholder('name'),
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: students.idpSubject,
        set: {
          email: sql`excluded.email`,
          name: sql`excluded.name`,
          updatedAt: sql`case when ${students.email} is not distinct from excluded.email
            and ${students.name} is not distinct from excluded.name
            then ${students.updatedAt} else excluded.updated_at end`,
        },
      })
      .returning()
      .prepare(statementName('liaison_lock_student'));
  }

  /** Prepared on the caller's own connection (a transaction's), so the lock is held until it ends. */
  async function lockStudent(user: AuthUser, executor: Executor): Promise<StudentRow> {
    const lock = builtOnce(executor, 'liaison_lock_student', prepareLock);
    const [row] = await lock.execute({
      sub: user.sub,
      email: user.email,
      name: user.name,
      now: clock.now(),
    });
    return row as StudentRow;
  }

  function toProfile(row: StudentRow): StudentProfile {
    return {
      id: row.id,
      name: row.name,
      email: row.email,
      categories: row.categories,
      language: (row.language as StudentProfile['language']) ?? null,
    };
  }

  return {
    listDimensions,
    checkCategories,
    ensureStudent,
    lockStudent,
    dimensionsSql,

    /** Replaces the category questions; written in the staff record as `actor`'s. */
    async replaceDimensions(dimensions: Dimension[], actor: StaffActor): Promise<Dimension[]> {
      const keys = dimensions.map((dimension) => dimension.key);
      const duplicate = keys.find((key, index) => keys.indexOf(key) !== index);
      if (duplicate) {
        throw new InvalidInput(`Dimension ${duplicate} appears twice.`, [
          { pointer: `/dimensions/${keys.lastIndexOf(duplicate)}/key`, in: 'body', message: 'is a duplicate' },
        ]);
      }
      dimensions.forEach((dimension, index) => {
        const values = dimension.values.map((value) => value.value);
        const repeated = values.findIndex((value, position) => values.indexOf(value) !== position);
        if (repeated >= 0) {
          throw new InvalidInput(`Value ${values[repeated]} appears twice in ${dimension.key}.`, [
            { pointer: `/dimensions/${index}/values/${repeated}/value`, in: 'body', message: 'is a duplicate' },
          ]);
        }
      });
      return transaction(db, async (tx) => {
        const before = await listDimensions(tx);
        // Bookings keep their own snapshot of categories, so redefining them never rewrites history.
        await tx.delete(categoryDimensions);
        if (dimensions.length > 0) {
          await tx.insert(categoryDimensions).values(
            dimensions.map((dimension, index) => ({
              key: dimension.key,
              label: dimension.label,
              position: index + 1,
            })),
          );
          await tx.insert(categoryValues).values(
            dimensions.flatMap((dimension) =>
              dimension.values.map((value, index) => ({
                dimensionKey: dimension.key,
                value: value.value,
                label: value.label,
                position: index + 1,
              })),
            ),
          );
        }
        const after = await listDimensions(tx);
        if (JSON.stringify(before) !== JSON.stringify(after)) {
          await recordStaffAction(tx, clock.now(), {
            actor,
            action: 'categories.changed',
            before: { dimensions: before },
            after: { dimensions: after },
          });
        }
        return after;
      });
    },

    /** Whether the student has answered the category questions (so pages never ask twice). */
    async hasAnsweredCategories(user: AuthUser): Promise<boolean> {
      const [row] = await db
        .select({ answeredAt: students.categoriesAnsweredAt, categories: students.categories })
        .from(students)
        .where(eq(students.idpSubject, user.sub));
      return Boolean(row?.answeredAt) || Object.keys(row?.categories ?? {}).length > 0;
    },

    /** The student's answers, perhaps "prefer not to say" to some (left out): asked once. */
    async answerCategories(user: AuthUser, categories: CategoryValues): Promise<StudentProfile> {
      await checkCategories(categories, '/categories');
      const student = await ensureStudent(user);
      const [row] = await db
        .update(students)
        .set({ categories, categoriesAnsweredAt: clock.now(), updatedAt: clock.now() })
        .where(eq(students.id, student.id))
        .returning();
      return toProfile(row as StudentRow);
    },

    /**
     * Keeps the language a signed-in person chose with the pages' control on their student record
     * (their emails follow it); people with no student record (staff) get none made.
     */
    async rememberLanguage(user: Pick<AuthUser, 'sub'>, language: string): Promise<void> {
      await db
        .update(students)
        .set({ language, updatedAt: clock.now() })
        .where(and(eq(students.idpSubject, user.sub), sql`${students.language} is distinct from ${language}`));
    },

    /** The language a student chose, if they have a record and chose one. */
    async languageOf(user: Pick<AuthUser, 'sub'>): Promise<string | null> {
      const [row] = await db
        .select({ language: students.language })
        .from(students)
        .where(eq(students.idpSubject, user.sub));
      return row?.language ?? null;
    },

    async getProfile(user: AuthUser): Promise<StudentProfile> {
      return toProfile(await ensureStudent(user));
    },

    async putProfile(
      user: AuthUser,
      categories: CategoryValues,
      language?: StudentProfile['language'],
    ): Promise<StudentProfile> {
      await checkCategories(categories, '/categories');
      const student = await ensureStudent(user);
      const [row] = await db
        .update(students)
        .set({ categories, ...(language === undefined ? {} : { language }), updatedAt: clock.now() })
        .where(eq(students.id, student.id))
        .returning();
      return toProfile(row as StudentRow);
    },
  };
}

export type CategoryService = ReturnType<typeof createCategoryService>;
