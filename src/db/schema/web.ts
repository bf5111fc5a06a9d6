import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';

import { instant } from './columns.js';

// The web front's own tables: sessions, sign-in links and secrets.

/**
 * Browser sessions: only the SHA-256 of the cookie's random id is stored. A session starts
 * anonymous (it carries the CSRF secret and the chosen time zone) and is replaced by a new id at
 * sign-in, so an id planted before sign-in is worthless after it.
 */
export const webSessions = pgTable(
  'web_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    /** The signed-in person (AuthUser without librarianId), or null. */
    user: jsonb('user').$type<{ sub: string; email: string | null; name: string | null; roles: string[] }>(),
    csrfSecret: text('csrf_secret').notNull(),
    timeZone: text('time_zone'),
    /** A single sign-on in progress: PKCE verifier, state, nonce, where to go after, when it began. */
    oidcPending: jsonb('oidc_pending').$type<{
      verifier: string;
      state: string;
      nonce: string;
      next: string;
      startedAt: string;
    }>(),
    /**
     * The booking being checked ("Check your booking"): its form, kept so the page is a GET after
     * the POST (Back after Confirm sends nothing again); cleared once the booking is made.
     */
    bookingDraft: jsonb('booking_draft').$type<Record<string, string>>(),
    createdAt: instant('created_at').notNull(),
    expiresAt: instant('expires_at').notNull(),
  },
  (t) => [index('web_sessions_expires_idx').on(t.expiresAt)],
);

/** One-time sign-in links sent by email: the hash only, 15 minutes, single use. */
export const signInLinks = pgTable(
  'sign_in_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    email: text('email').notNull(),
    next: text('next'),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [index('sign_in_links_email_idx').on(t.email, t.createdAt)],
);

/**
 * Random keys this deployment keeps, made once by whichever process first needs one and shared by
 * every process (e.g. `page_cookies`: signs the CSRF and pending sign-on cookies of visitors who
 * have no session yet).
 */
export const appSecrets = pgTable('app_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: instant('created_at').notNull(),
});
