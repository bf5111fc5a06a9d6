import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTogether } from '../../src/db/batch.js';
import { type DatabaseHandle, openPostgres } from '../../src/db/client.js';
import { insertRows } from '../../src/db/insert.js';
import { runMigrations } from '../../src/db/migrate.js';
import { students } from '../../src/db/schema.js';
import { createDatabase, onPostgres, testDatabaseUrl } from '../helpers/db.js';
import { countStatements, proxyPostgres, type StatementLog } from '../helpers/statements.js';

// A transaction's BEGIN travels with its first statement and, for a statement marked last, its
// COMMIT with that one (src/db/pipeline.ts). Read off the wire by the loopback proxy; the rows are
// read back over a connection of their own.

const at = new Date('2027-03-01T09:00:00Z');
const student = (subject: string) => ({ idpSubject: subject, name: subject, createdAt: at, updatedAt: at });

describe.runIf(onPostgres)('BEGIN and COMMIT sent with statements (PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let proxy: StatementLog & { url: string };
  let handle: DatabaseHandle;
  let reader: DatabaseHandle;

  beforeAll(async () => {
    database = await createDatabase(testDatabaseUrl as string, 'liaison_test');
    const migrating = openPostgres(database.url, { max: 1 });
    await runMigrations(migrating);
    await migrating.close();
    proxy = await proxyPostgres(database.url);
    // One connection: every transaction below meets the statements the ones before it prepared.
    handle = openPostgres(proxy.url, { max: 1 });
    reader = openPostgres(database.url, { max: 1 });
  });
  afterAll(async () => {
    await handle?.close();
    await reader?.close();
    await proxy?.close();
    await database?.drop();
  });

  /** A transaction: look the student up, then add them in a last statement. */
  const enrol = (subject: string) =>
    handle.db.transaction(async (tx) => {
      const [existing] = await tx.select().from(students).where(eq(students.idpSubject, subject));
      if (existing) throw new Error(`${subject} exists`);
      await writeTogether(tx, { added: insertRows(tx, students, [student(subject)]) }, undefined, { last: true });
    });

  const stored = async (subject: string) =>
    (await reader.db.select().from(students).where(eq(students.idpSubject, subject))).length;

  it('sends a transaction of two prepared statements in two round trips, and commits it', async () => {
    await enrol('pipeline|warm'); // prepares both statements on the connection
    proxy.take();
    await enrol('pipeline|1');
    const count = countStatements(proxy.take());
    expect(count.statements.map((text) => text.split(/\s+/)[0])).toEqual(['begin', 'select', '/*', 'commit']);
    expect(count.transactions).toBe(1);
    expect(count.inTransaction).toBe(2);
    expect(count.roundTrips).toBe(2);
    expect(await stored('pipeline|1')).toBe(1);
  });

  it('rolls the whole transaction back when its last statement fails, and the connection goes on', async () => {
    await enrol('pipeline|warm-2');
    const failing = handle.db.transaction(async (tx) => {
      await tx.execute(sql`select count(*) from students where name = ${'any'}`); // goes with the BEGIN
      await writeTogether(tx, { first: insertRows(tx, students, [student('pipeline|2')]) });
      // The same subject twice in one statement: the unique key refuses it, and COMMIT never runs.
      await writeTogether(
        tx,
        { twice: insertRows(tx, students, [student('pipeline|3'), student('pipeline|3')]) },
        undefined,
        { last: true },
      );
    });
    await expect(failing).rejects.toMatchObject({ code: '23505', constraint: 'students_idp_subject_unique' });
    expect(await stored('pipeline|2')).toBe(0);
    expect(await stored('pipeline|3')).toBe(0);
    await enrol('pipeline|4');
    expect(await stored('pipeline|4')).toBe(1);
  });

  it('refuses a statement after the last one, which would run outside the transaction', async () => {
    await enrol('pipeline|warm-3');
    const late = handle.db.transaction(async (tx) => {
      await tx.select().from(students).where(eq(students.idpSubject, 'pipeline|5'));
      await writeTogether(tx, { added: insertRows(tx, students, [student('pipeline|5')]) }, undefined, { last: true });
      await tx.select().from(students).where(eq(students.idpSubject, 'pipeline|5'));
    });
    // drizzle reports the refused query, with the refusal as its cause.
    const refused = (await late.catch((error: unknown) => error)) as { cause?: Error };
    expect(refused.cause?.message).toBe('A statement followed the one that committed its transaction.');
    expect(await stored('pipeline|5')).toBe(1);
    await enrol('pipeline|6');
    expect(await stored('pipeline|6')).toBe(1);
  });

  it('sends nothing for a transaction that runs no statement', async () => {
    proxy.take();
    await handle.db.transaction(async () => {});
    await expect(
      handle.db.transaction(async () => {
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(proxy.take()).toEqual([]);
  });
});
