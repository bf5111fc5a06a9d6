import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/client.js';
import { webSessions } from '../db/schema.js';
import type { AuthUser, Role } from '../plugins/auth.js';
import type { Clock } from '../time/clock.js';

export const SESSION_COOKIE = 'liaison_session';

export interface WebSession {
  id: string;
  user: AuthUser | null;
  csrfToken: string;
  timeZone: string | null;
  /** The booking form being checked, if any (see webSessions.bookingDraft). */
  bookingDraft: Record<string, string> | null;
}

type SessionRow = typeof webSessions.$inferSelect;

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The cookies a request sent, by name (RFC 6265 `Cookie` header). */
export function readCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index < 1) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    if (!(name in cookies)) {
      try {
        cookies[name] = decodeURIComponent(value);
      } catch {
        cookies[name] = value;
      }
    }
  }
  return cookies;
}

/** A Set-Cookie value for the pages' cookies: whole site, never read by scripts, not sent cross-site. */
export function cookieHeader(name: string, value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${name}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Equal-time comparison of two CSRF tokens. */
export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

/**
 * Server-side sessions: the cookie holds 256 random bits, the database their hash, the user, the
 * CSRF token and the chosen time zone. Expiry is checked against the injected clock.
 */
export function createSessionStore(deps: {
  db: Database;
  clock: Clock;
  sessionHours: number;
  secureCookies: boolean;
  findLibrarianIdByEmail(email: string): Promise<string | null>;
}) {
  const { db, clock } = deps;

  async function toSession(id: string, row: SessionRow): Promise<WebSession> {
    let user: AuthUser | null = null;
    if (row.user) {
      const roles = row.user.roles as Role[];
      user = {
        ...row.user,
        roles,
        librarianId:
          roles.includes('librarian') && row.user.email ? await deps.findLibrarianIdByEmail(row.user.email) : null,
      };
    }
    return { id, user, csrfToken: row.csrfSecret, timeZone: row.timeZone, bookingDraft: row.bookingDraft ?? null };
  }

  const cookie = (id: string, maxAgeSeconds: number) =>
    cookieHeader(SESSION_COOKIE, id, maxAgeSeconds, deps.secureCookies);

  async function insert(user: WebSession['user'], timeZone: string | null): Promise<{ id: string; row: SessionRow }> {
    const id = randomBytes(32).toString('base64url');
    const now = clock.now();
    const [row] = await db
      .insert(webSessions)
      .values({
        idHash: hash(id),
        user: user ? { sub: user.sub, email: user.email, name: user.name, roles: user.roles } : null,
        csrfSecret: randomBytes(32).toString('base64url'),
        timeZone,
        createdAt: now,
        expiresAt: new Date(now.getTime() + deps.sessionHours * 3_600_000),
      })
      .returning();
    return { id, row: row as SessionRow };
  }

  return {
    /** The live session the request's cookie names, or null. */
    async read(request: FastifyRequest): Promise<WebSession | null> {
      const id = readCookies(request.headers.cookie)[SESSION_COOKIE];
      if (!id || id.length > 100) return null;
      const [row] = await db
        .select()
        .from(webSessions)
        .where(and(eq(webSessions.idHash, hash(id)), gt(webSessions.expiresAt, clock.now())));
      return row ? toSession(id, row) : null;
    },

    /** A new anonymous session (for its CSRF token), with its cookie set on the reply. */
    async start(reply: FastifyReply, timeZone: string | null = null): Promise<WebSession> {
      const { id, row } = await insert(null, timeZone);
      reply.header('set-cookie', cookie(id, deps.sessionHours * 3600));
      return toSession(id, row);
    },

    /**
     * Signs a person in: the old session (if any) is deleted and a new id issued, so a session id
     * fixed before sign-in never becomes a signed-in one.
     */
    async signIn(
      reply: FastifyReply,
      previous: WebSession | null,
      user: Omit<AuthUser, 'librarianId'>,
      /** The zone chosen before signing in (a visitor keeps it in a cookie): the session keeps it. */
      chosenTimeZone: string | null,
    ): Promise<void> {
      if (previous) await db.delete(webSessions).where(eq(webSessions.idHash, hash(previous.id)));
      const { id } = await insert({ ...user, librarianId: null }, previous?.timeZone ?? chosenTimeZone);
      reply.header('set-cookie', cookie(id, deps.sessionHours * 3600));
    },

    async signOut(reply: FastifyReply, session: WebSession | null): Promise<void> {
      if (session) await db.delete(webSessions).where(eq(webSessions.idHash, hash(session.id)));
      reply.header('set-cookie', cookie('', 0));
    },

    /** Remembers a single sign-on in progress (PKCE verifier, state, nonce) in this session. */
    async beginSignOn(session: WebSession, pending: { verifier: string; state: string; nonce: string; next: string }) {
      await db
        .update(webSessions)
        .set({ oidcPending: { ...pending, startedAt: clock.now().toISOString() } })
        .where(eq(webSessions.idHash, hash(session.id)));
    },

    /** Takes the sign-on in progress out of the session (once: a replayed callback finds none). */
    async takeSignOn(session: WebSession) {
      const [row] = await db
        .select({ pending: webSessions.oidcPending })
        .from(webSessions)
        .where(eq(webSessions.idHash, hash(session.id)));
      await db
        .update(webSessions)
        .set({ oidcPending: null })
        .where(eq(webSessions.idHash, hash(session.id)));
      return row?.pending ?? null;
    },

    async setTimeZone(session: WebSession, timeZone: string): Promise<void> {
      await db
        .update(webSessions)
        .set({ timeZone })
        .where(eq(webSessions.idHash, hash(session.id)));
    },

    /** Keeps the booking form being checked with the session (null: forget it). */
    async setBookingDraft(session: WebSession, draft: Record<string, string> | null): Promise<void> {
      await db
        .update(webSessions)
        .set({ bookingDraft: draft })
        .where(eq(webSessions.idHash, hash(session.id)));
    },

    /** Removes expired sessions (run with the other daily jobs). */
    async purgeExpired(): Promise<number> {
      const removed = await db
        .delete(webSessions)
        .where(lt(webSessions.expiresAt, clock.now()))
        .returning({ id: webSessions.idHash });
      return removed.length;
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
