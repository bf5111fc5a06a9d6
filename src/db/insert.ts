import { type Column, getTableColumns, getTableName, is, SQL, type SQLWrapper } from 'drizzle-orm';
import type { PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/** A statement's text, its parameters numbered $1.. from `first + 1`, and their values. */
export interface RenderedQuery {
  text: string;
  params: unknown[];
}

/** A write that renders its own text (see insertRows); also a drizzle SQLWrapper for any other use. */
export interface RenderableWrite extends SQLWrapper {
  render(first: number): RenderedQuery;
}

export function isRenderable(write: SQLWrapper): write is RenderableWrite {
  return typeof (write as Partial<RenderableWrite>).render === 'function';
}

/**
 * `insert into table (...) values (...), ...` for plain rows, written out directly: the same text
 * and values drizzle's insert builder produces (each value through its column's mapToDriverValue,
 * `default` for one left undefined), without walking drizzle's SQL tree, which cost a booking
 * about a sixth of this process's CPU. A row holding a SQL expression, or nothing to insert,
 * goes through drizzle's builder instead. `returning` names the table's keys to return.
 */
export function insertRows<T extends PgTable>(
  executor: Executor,
  table: T,
  rows: PgInsertValue<T>[],
  returning: (keyof T['_']['columns'] & string)[] = [],
): RenderableWrite {
  const columns = getTableColumns(table) as Record<string, Column>;
  const returned = returning.map((key) => {
    const column = columns[key];
    if (!column) throw new Error(`${getTableName(table)} has no column ${key}`);
    return [key, column] as const;
  });
  const built = () => {
    const insert = executor.insert(table as never).values(rows as never) as unknown as {
      returning(fields: Record<string, Column>): SQLWrapper;
    } & SQLWrapper;
    return (returned.length === 0 ? insert : insert.returning(Object.fromEntries(returned))).getSQL();
  };
  return {
    getSQL: built,
    render(first) {
      const plain = rows.length > 0 && rows.every((row) => Object.values(row).every((value) => !isExpression(value)));
      if (!plain) return renderDrizzle(executor, built(), first);
      const given = Object.entries(columns).filter(([key]) =>
        rows.some((row) => (row as Record<string, unknown>)[key] !== undefined),
      );
      const params: unknown[] = [];
      const tuples = rows.map((row) => {
        const values = given.map(([key, column]) => {
          const value = (row as Record<string, unknown>)[key];
          if (value === undefined) return 'default';
          params.push(value === null ? null : column.mapToDriverValue(value));
          return `$${first + params.length}`;
        });
        return `(${values.join(', ')})`;
      });
      const names = given.map(([, column]) => `"${column.name}"`).join(', ');
      const tail =
        returned.length > 0 ? ` returning ${returned.map(([, column]) => `"${column.name}"`).join(', ')}` : '';
      return { text: `insert into "${getTableName(table)}" (${names}) values ${tuples.join(', ')}${tail}`, params };
    },
  };
}

function isExpression(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) === null) return false;
  return is(value, SQL) || is(value, SQL.Aliased);
}

interface Dialect {
  casing: unknown;
  escapeName(name: string): string;
  escapeParam(index: number): string;
  escapeString(text: string): string;
  prepareTyping?: unknown;
}

/** Any drizzle SQL as text and values, its parameters numbered from `first + 1`. */
export function renderDrizzle(executor: Executor, query: SQL, first: number): RenderedQuery {
  const dialect = (executor as unknown as { dialect: Dialect }).dialect;
  const built = query.toQuery({
    casing: dialect.casing,
    escapeName: dialect.escapeName,
    escapeParam: dialect.escapeParam,
    escapeString: dialect.escapeString,
    paramStartIndex: { value: first },
  } as Parameters<SQL['toQuery']>[0]);
  return { text: built.sql, params: built.params };
}
