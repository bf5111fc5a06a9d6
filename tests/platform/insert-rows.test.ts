import { asc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTogether } from '../../src/db/batch.js';
import { insertRows, type RenderedQuery } from '../../src/db/insert.js';
import { students } from '../../src/db/schema.js';
import { transaction } from '../../src/db/transaction.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// insertRows (src/db/insert.ts) writes plain rows without drizzle's SQL tree. Drizzle's own insert
// builder is the reference: the same rows, written both ways, must read back the same. The
// rendered text runs through each driver's own query(text, values) here, so both databases check
// it; in the app it runs only in transaction()'s named statements on PostgreSQL.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const at = new Date('2027-03-01T09:30:00.125Z');

function rowsFor(prefix: string): (typeof students.$inferInsert)[] {
  return [
    {
      idpSubject: `${prefix}|1`,
      email: 'ayo@uni.ac.uk',
      name: 'Ayọ̀ "quoted" O\'Neil',
      categories: { level: 'pg', 'fee status': 'international' },
      categoriesAnsweredAt: at,
      createdAt: at,
      updatedAt: at,
    },
    // categories and categoriesAnsweredAt left out: the column defaults apply.
    { idpSubject: `${prefix}|2`, email: null, name: 'Wei', createdAt: at, updatedAt: at },
  ];
}

/** Runs rendered text and values through the driver itself (pg's Pool and PGlite both take these). */
async function runRendered({ text, params }: RenderedQuery) {
  const client = database.handle.db.$client as { query(text: string, values: unknown[]): Promise<unknown> };
  await client.query(text, params);
}

async function readBack(prefix: string) {
  const rows = await database.handle.db
    .select()
    .from(students)
    .where(inArray(students.idpSubject, [`${prefix}|1`, `${prefix}|2`]))
    .orderBy(asc(students.idpSubject));
  return rows.map(({ id: _id, idpSubject, ...row }) => ({ ...row, subject: idpSubject.split('|')[1] }));
}

describe('insertRows', () => {
  it("writes what drizzle's insert builder writes, defaults included", async () => {
    const { db } = database.handle;
    await db.insert(students).values(rowsFor('drizzle'));
    await runRendered(insertRows(db, students, rowsFor('direct')).render(0));
    const direct = await readBack('direct');
    expect(direct).toEqual(await readBack('drizzle'));
    expect(direct[1]).toMatchObject({ categories: {}, categoriesAnsweredAt: null, email: null });
    expect(direct[0]?.categories).toEqual({ level: 'pg', 'fee status': 'international' });
  });

  it('renders text and parameters numbered after the ones before it', () => {
    const rendered = insertRows(database.handle.db, students, rowsFor('text'), ['id']).render(2);
    expect(rendered.text).toBe(
      'insert into "students" ("idp_subject", "email", "name", "categories", "categories_answered_at", "created_at", "updated_at") ' +
        'values ($3, $4, $5, $6, $7, $8, $9), ($10, $11, $12, default, default, $13, $14) returning "id"',
    );
    expect(rendered.params).toEqual([
      'text|1',
      'ayo@uni.ac.uk',
      'Ayọ̀ "quoted" O\'Neil',
      '{"level":"pg","fee status":"international"}',
      '2027-03-01T09:30:00.125Z',
      '2027-03-01T09:30:00.125Z',
      '2027-03-01T09:30:00.125Z',
      'text|2',
      null,
      'Wei',
      '2027-03-01T09:30:00.125Z',
      '2027-03-01T09:30:00.125Z',
    ]);
  });

  it('returns the columns asked for, for a later part of the statement to read', async () => {
    const { db } = database.handle;
    // In a transaction, so that on PostgreSQL writeTogether sends its rendered text.
    const rows = await transaction(db, (tx) =>
      writeTogether<{ id: string; subjects: number }>(
        tx,
        { added: insertRows(tx, students, rowsFor('returned'), ['id']) },
        sql`select id, (select count(*)::int from added) as subjects from added`,
      ),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]?.subjects).toBe(2);
    const stored = await db
      .select({ id: students.id })
      .from(students)
      .where(
        inArray(
          students.id,
          rows.map((row) => row.id),
        ),
      );
    expect(stored).toHaveLength(2);
  });

  it('leaves a row holding a SQL expression to drizzle, expression and all', async () => {
    const { db } = database.handle;
    const [first, second] = rowsFor('expression') as [typeof students.$inferInsert, typeof students.$inferInsert];
    await transaction(db, (tx) =>
      writeTogether(tx, {
        with_expression: insertRows(tx, students, [{ ...first, name: sql`upper('shouted')` }, second]),
      }),
    );
    expect((await readBack('expression')).map((row) => row.name)).toEqual(['SHOUTED', 'Wei']);
  });

  it("numbers drizzle's parameters after the rendered ones, in every part and the result", async () => {
    const { db } = database.handle;
    const [first] = rowsFor('numbered') as [typeof students.$inferInsert];
    const rows = await transaction(db, (tx) =>
      writeTogether<{ name: string; label: string }>(
        tx,
        {
          added: insertRows(tx, students, [first], ['id']),
          renamed: tx
            .update(students)
            .set({ name: 'Renamed' })
            .where(eq(students.idpSubject, 'numbered|1'))
            .returning({ name: students.name }),
        },
        sql`select ${'after'}::text as label, (select count(*)::int from added)::text as name`,
      ),
    );
    // The update ran before the insert was visible to it (one snapshot): it renamed nothing.
    expect(rows).toEqual([{ label: 'after', name: '1' }]);
    expect((await readBack('numbered')).map((row) => row.name)).toEqual(['Ayọ̀ "quoted" O\'Neil']);
  });
});
