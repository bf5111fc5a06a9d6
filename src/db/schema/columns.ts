import { timestamp } from 'drizzle-orm/pg-core';

/** A timestamp with time zone, read as a Date. */
export const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** When a row was made: from the injected clock, given on every insert. */
export const createdAt = () => instant('created_at').notNull();
