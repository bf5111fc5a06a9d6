import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows.js';
import { cohorts, terms } from '../../db/schema.js';
import type { Dimension } from '../categories/schemas.js';
import { MAX_GROUPS, type Row, tooManyGroups, type UptakeDeps } from './aggregation.js';
import { periodLabels } from './periods.js';
import type { UptakeQuery } from './schemas.js';

/** Cohort sizes for a period, and the groups with no bookings filled in as zeros. */
export function createCohorts(deps: UptakeDeps) {
  const { db, config } = deps;

  /**
   * Cohort sizes for a period: for each value of the dimension, the largest size among the terms
   * that overlap it (the same students are enrolled across terms, so sizes are not added up).
   */
  async function periodCohorts(dimension: string, from: string, to: string) {
    const overlapping = await db
      .select({ name: terms.name, value: cohorts.value, size: cohorts.size })
      .from(terms)
      .leftJoin(cohorts, sql`${cohorts.termId} = ${terms.id} and ${cohorts.dimension} = ${dimension}`)
      .where(sql`${terms.startsOn} <= ${to} and ${terms.endsOn} >= ${from}`)
      .orderBy(terms.startsOn);
    const sizes = new Map<string, number>();
    for (const row of overlapping) {
      if (row.value === null || row.size === null) continue;
      sizes.set(row.value, Math.max(sizes.get(row.value) ?? 0, row.size));
    }
    return { sizes, terms: [...new Set(overlapping.map((row) => row.name))] };
  }

  /** Adds zero rows for groups with no bookings: every known value of each grouped key. */
  async function fillGroups(
    rows: Row[],
    groupBy: string[],
    definitions: Dimension[],
    query: UptakeQuery,
  ): Promise<Row[]> {
    const dimensions = definitions.map((dimension) => dimension.key);
    const domains: (string | boolean | null)[][] = [];
    for (const key of groupBy) {
      if (key === 'companion') domains.push([true, false]);
      else if (key === 'mode') domains.push(['in_person', 'online']);
      else if (dimensions.includes(key))
        domains.push(definitions.find((d) => d.key === key)?.values.map((v) => v.value) ?? []);
      else if (key === 'librarian' || key === 'faculty' || key === 'term') {
        const column = key === 'librarian' ? sql`name` : key === 'faculty' ? sql`faculty` : sql`name`;
        const table = key === 'term' ? sql`terms` : sql`librarians`;
        const found = await rowsOf<{ v: string }>(
          db,
          sql`select distinct ${column} as v from ${table} where ${column} is not null order by 1`,
        );
        domains.push(found.map((row) => row.v));
      } else domains.push(periodLabels(key, query.from, query.to, config.academicYearStartMonth));
    }
    const size = domains.reduce((product, domain) => product * Math.max(domain.length, 1), 1);
    if (size > MAX_GROUPS) {
      throw tooManyGroups(`fill=true would give ${size} groups (${groupBy.join(' × ')})`);
    }
    const combinations = domains.reduce<(string | boolean | null)[][]>(
      (product, domain) => product.flatMap((prefix) => domain.map((value) => [...prefix, value])),
      [[]],
    );
    const keyOf = (values: unknown[]) => JSON.stringify(values);
    const seen = new Set(rows.map((row) => keyOf(groupBy.map((_, index) => row[`g${index}`] ?? null))));
    const filled = [...rows];
    for (const combination of combinations) {
      if (seen.has(keyOf(combination))) continue;
      filled.push(Object.fromEntries(combination.map((value, index) => [`g${index}`, value])));
    }
    return filled;
  }

  return { periodCohorts, fillGroups };
}
