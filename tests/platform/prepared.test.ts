import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openPostgres } from '../../src/db/client.js';
import { PREPARED_PER_CONNECTION } from '../../src/db/pipeline.js';
import { onPostgres, testDatabaseUrl } from '../helpers/db.js';

// Every statement is prepared once per connection under a name taken from its text
// (src/db/pipeline.ts). This reads PostgreSQL's own list of a connection's prepared statements.

describe.runIf(onPostgres)('Statements prepared per connection (PostgreSQL)', () => {
  let handle: DatabaseHandle | undefined;
  afterAll(async () => {
    await handle?.close();
  });

  it('answers each call with its own parameters, and keeps at most PREPARED_PER_CONNECTION per connection', async () => {
    // One connection, so every statement below meets the same list.
    handle = openPostgres(testDatabaseUrl as string, { max: 1 });
    const { db } = handle;
    const texts = PREPARED_PER_CONNECTION + 20;
    const sum = async (value: number, text: number) => {
      const result = (await db.execute(
        sql`select ${value}::int + ${sql.raw(String(text))} as prepared_sum_of_both`,
      )) as unknown as { rows: { prepared_sum_of_both: number }[] };
      return result.rows[0]?.prepared_sum_of_both;
    };
    for (let text = 0; text < texts; text++) expect(await sum(1000, text)).toBe(1000 + text);
    // The same texts again, with other parameters: each answer is still its own.
    expect(await sum(7, 0)).toBe(7);
    expect(await sum(-5, 3)).toBe(-2);
    expect(await sum(40, texts - 1)).toBe(40 + texts - 1);

    const listed = (await db.execute(
      sql`select count(*)::int as kept, count(*) filter (where statement like '%prepared_sum_of_both%')::int as sums
          from pg_prepared_statements where name like 'l\\_%'`,
    )) as unknown as { rows: unknown[] };
    // The first PREPARED_PER_CONNECTION texts were prepared; the 20 after them, and this count, were not.
    expect(listed.rows[0]).toEqual({ kept: PREPARED_PER_CONNECTION, sums: PREPARED_PER_CONNECTION });
  });
});
