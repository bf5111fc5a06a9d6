import { createDatabase } from '../tests/helpers/db.js';

/** A fresh database on the bench's PostgreSQL server; dropped by the returned function. */
export const benchDatabase = (adminUrl: string) => createDatabase(adminUrl, 'liaison_bench');
