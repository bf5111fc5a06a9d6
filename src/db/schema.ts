// The database schema, by part; drizzle-kit reads it from here (src/db/drizzle.config.ts).
export * from './schema/analytics.js';
export * from './schema/bookings.js';
export * from './schema/calendars.js';
export * from './schema/campaigns.js';
export * from './schema/messages.js';
export * from './schema/people.js';
export * from './schema/pools.js';
export * from './schema/staff.js';
export * from './schema/waitlist.js';
export * from './schema/web.js';
