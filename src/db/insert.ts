import { getTableColumns, getTableName, is, SQL, type SQLWrapper } from 'drizzle-orm';
import { CasingCache } from 'drizzle-orm/casing';
import { type PgColumn, PgDialect, type PgInsertValue, type PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/**
 * Statement text written out directly, for the writes a booking sends (writeTogether). Drizzle's
 * insert builder makes a tree of SQL chunks per row and value and walks it to make the text; for a
 * booking's seven inserts that was about a sixth of the server's CPU. Everything here is drizzle's
 * public API: table and column metadata (getTableColumns, getTableName, a column's name and
 * mapToDriverValue), and SQL.toQuery with a numbering start (paramStartIndex) for any other part.
 */

/** A statement's text, its parameters numbered $1.. from `first + 1`, and their values. */
export interface RenderedQuery {
  text: string;
  params: unknown[];
}

/** A write that renders its own text (insertRows); also a drizzle SQLWrapper for any other use. */
export interface RenderableWrite extends SQLWrapper {
  render(first: number): RenderedQuery;
}

export function isRenderable(write: SQLWrapper): write is RenderableWrite {
  return typeof (write as Partial<RenderableWrite>).render === 'function';
}

const dialect = new PgDialect();
const casing = new CasingCache();

/** A quoted identifier, as drizzle quotes one. */
export function quoteName(name: string): string {
  return dialect.escapeName(name);
}

/** Any drizzle SQL as text and values, its parameters numbered from `first + 1`. */
export function renderSql(query: SQL, first: number): RenderedQuery {
  const { sql: text, params } = query.toQuery({
    casing,
    escapeName: quoteName,
    // PostgreSQL's numbered parameters, counted on from the parts before this one.
    escapeParam: (index: number) => `$${index + 1}`,
    escapeString: (value: string) => dialect.escapeString(value),
    paramStartIndex: { value: first },
  });
  return { text, params };
}

/**
 * `insert into table (...) values (...), ...` for plain rows, written out directly: the values
 * drizzle's insert builder sends (each through its column's mapToDriverValue, null as null,
 * `default` for one left undefined), for the columns some row gives. A row holding a SQL
 * expression, or no rows at all, goes through drizzle's builder instead. `returning` names the
 * table's keys to return. `getSQL` is always drizzle's builder (PGlite, and outside a transaction).
 */
export function insertRows<T extends PgTable>(
  executor: Executor,
  table: T,
  rows: PgInsertValue<T>[],
  returning: (keyof T['_']['columns'] & string)[] = [],
): RenderableWrite {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  const returned = returning.map((key) => {
    const column = columns[key];
    if (!column) throw new Error(`${getTableName(table)} has no column ${key}`);
    return [key, column] as const;
  });
  const built = () => {
    const insert = executor.insert(table as PgTable).values(rows as never);
    return (returned.length === 0 ? insert : insert.returning(Object.fromEntries(returned))).getSQL();
  };
  return {
    getSQL: built,
    render(first) {
      const values = rows as Record<string, unknown>[];
      const plain =
        values.length > 0 && values.every((row) => Object.values(row).every((value) => !isExpression(value)));
      if (!plain) return renderSql(built(), first);
      const given = Object.entries(columns).filter(([key]) => values.some((row) => row[key] !== undefined));
      const params: unknown[] = [];
      const tuples = values.map((row) => {
        const placeholders = given.map(([key, column]) => {
          const value = row[key];
          if (value === undefined) return 'default';
          params.push(value === null ? null : column.mapToDriverValue(value));
          return `$${first + params.length}`;
        });
        return `(${placeholders.join(', ')})`;
      });
      const names = given.map(([, column]) => quoteName(column.name)).join(', ');
      const tail =
        returned.length > 0 ? ` returning ${returned.map(([, column]) => quoteName(column.name)).join(', ')}` : '';
      return {
        text: `insert into ${quoteName(getTableName(table))} (${names}) values ${tuples.join(', ')}${tail}`,
        params,
      };
    },
  };
}

/** A drizzle SQL expression (or alias) among a row's values, which only drizzle can render. */
function isExpression(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) === null) return false;
  return is(value, SQL) || is(value, SQL.Aliased);
}
