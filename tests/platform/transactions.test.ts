import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTogether } from '../../src/db/batch.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import { isStalePlan, retryingStalePlans, statementName } from '../../src/db/prepared.js';
import { students } from '../../src/db/schema.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/db.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Transactions and prepared statements through drizzle's and pg's public API only (issue 23):
// a transaction commits when its function returns and not before, whatever its last statement
// was; a prepared statement left stale by a migration is prepared afresh instead of failing.

const at = new Date('2027-03-01T09:00:00Z');
const student = (subject: string) => ({ idpSubject: subject, name: subject, createdAt: at, updatedAt: at });

describe('a transaction ends when its function does', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
    handle = database.handle;
  });
  afterAll(() => database?.drop());

  const stored = async (subject: string) =>
    (await handle.db.select().from(students).where(eq(students.idpSubject, subject))).length;

  it('rolls back every write, and reports the real error, when the code after its last write throws', async () => {
    // Twice: the first time on a new connection, then on one that has run the same statements.
    for (const subject of ['after-last|cold', 'after-last|warm']) {
      const attempt = handle.db.transaction(async (tx) => {
        await tx.select().from(students).where(eq(students.idpSubject, subject));
        await writeTogether(tx, { added: tx.insert(students).values(student(subject)) });
        throw new RangeError(`checked after writing ${subject}`);
      });
      await expect(attempt).rejects.toThrow(new RangeError(`checked after writing ${subject}`));
      expect(await stored(subject)).toBe(0);
    }
  });

  it('writes all or nothing in one writeTogether, and the connection goes on', async () => {
    const failing = handle.db.transaction(async (tx) => {
      await writeTogether(tx, { first: tx.insert(students).values(student('together|1')) });
      // The same subject twice in one statement: the unique key refuses it.
      await writeTogether(tx, {
        twice: tx.insert(students).values([student('together|2'), student('together|2')]),
      });
    });
    await expect(failing).rejects.toMatchObject({
      cause: { code: '23505', constraint: 'students_idp_subject_unique' },
    });
    expect(await stored('together|1')).toBe(0);
    expect(await stored('together|2')).toBe(0);
    await handle.db.transaction((tx) =>
      writeTogether(tx, { added: tx.insert(students).values(student('together|3')) }),
    );
    expect(await stored('together|3')).toBe(1);
  });

  it('lets a later write read an earlier one by its name, and returns what the result reads', async () => {
    const rows = await writeTogether<{ subject: string }>(
      handle.db,
      {
        added: handle.db
          .insert(students)
          .values(student('together|named'))
          .returning({ id: students.id, subject: students.idpSubject }),
        renamed: sql`update students set name = 'Renamed' where id = (select id from added)`,
      },
      // RETURNING names columns as the table does: drizzle's keys are not SQL aliases.
      sql`select idp_subject as subject from added`,
    );
    expect(rows).toEqual([{ subject: 'together|named' }]);
    const [row] = await handle.db.select().from(students).where(eq(students.idpSubject, 'together|named'));
    // The update saw the insert's row only through its RETURNING; the stored row is the insert's.
    expect(row?.name).toBe('together|named');
  });
});

describe.runIf(onPostgres)('prepared statements after a column changes type (PostgreSQL)', () => {
  let t: TestContext;
  afterEach(() => t?.close());

  it('shows the hazard is real: a statement prepared before the change fails after it', async () => {
    t = await createTestApp();
    await t.db.insert(students).values(student('stale|1'));
    const read = () =>
      t.db
        .select({ name: students.name })
        .from(students)
        .where(eq(students.idpSubject, sql.placeholder('subject')))
        .prepare('test_fixed_name_read')
        .execute({ subject: 'stale|1' });
    // Every pooled connection the read lands on prepares it: run it on several at once.
    await Promise.all(Array.from({ length: 4 }, read));
    await t.db.execute(sql`alter table students alter column name type varchar(300)`);
    const errors = await Promise.all(Array.from({ length: 4 }, () => read().catch((error: unknown) => error)));
    expect(errors.some((error) => isStalePlan(error))).toBe(true);
  });

  it('answers a read prepared before the change, once more under a new name', async () => {
    t = await createTestApp();
    await t.db.insert(students).values(student('stale|2'));
    const read = () =>
      retryingStalePlans(() =>
        t.db
          .select({ name: students.name })
          .from(students)
          .where(eq(students.idpSubject, sql.placeholder('subject')))
          .prepare(statementName('test_read'))
          .execute({ subject: 'stale|2' }),
      );
    await Promise.all(Array.from({ length: 4 }, read));
    await t.db.execute(sql`alter table students alter column name type varchar(300)`);
    const answers = await Promise.all(Array.from({ length: 4 }, read));
    expect(answers).toEqual(Array.from({ length: 4 }, () => [{ name: 'stale|2' }]));
  });

  it('books after a migration changed a column its prepared statements return', async () => {
    t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
    const { id: librarianId } = await createLibrarianWithWeek(t);
    const student = await t.auth('student', { email: 'amara@example.ac.uk', name: 'Amara Okafor' });
    const book = (start: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/bookings', headers: student, payload: { librarianId, start } });
    const first = await book('2027-03-02T09:00:00Z');
    expect(first.statusCode, first.body).toBe(201);
    // The student lock returns every column of students; the booking's inputs read librarians'.
    await t.db.execute(sql`alter table students alter column name type varchar(300)`);
    await t.db.execute(sql`alter table librarians alter column location type varchar(300)`);
    const second = await book('2027-03-03T09:00:00Z');
    expect(second.statusCode, second.body).toBe(201);
    const slots = await t.app.inject({
      url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-04&to=2027-03-05`,
    });
    expect(slots.statusCode, slots.body).toBe(200);
  });
});
