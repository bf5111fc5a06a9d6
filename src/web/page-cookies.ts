import { createHmac, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/client.js';
import { appSecrets } from '../db/schema.js';
import type { Clock } from '../time/clock.js';
import { isCanonicalTimeZone } from '../time/zone.js';
import { cookieHeader, readCookies, sameToken } from './session.js';

export const CSRF_COOKIE = 'liaison_csrf';
export const TIME_ZONE_COOKIE = 'liaison_tz';
export const LANGUAGE_COOKIE = 'liaison_lang';
const KEY_NAME = 'page_cookies';

/**
 * The key that signs visitors' cookies: made once, by whichever process first asks, and kept in
 * the database so that every process behind a load balancer accepts what another signed.
 */
export async function loadPageCookieKey(db: Database, clock: Clock): Promise<Buffer> {
  await db
    .insert(appSecrets)
    .values({ name: KEY_NAME, value: randomBytes(32).toString('base64url'), createdAt: clock.now() })
    .onConflictDoNothing();
  const [row] = await db.select({ value: appSecrets.value }).from(appSecrets).where(eq(appSecrets.name, KEY_NAME));
  if (!row) throw new Error('the page cookie key could not be stored');
  return Buffer.from(row.value, 'base64url');
}

/**
 * Cookies for visitors without a session, so that looking at a page writes nothing to the
 * database: the CSRF token of their forms (random, signed with the deployment's key) and the time
 * zone they chose. A session row is made only when a form is posted that needs one (sign-in).
 */
export function createPageCookies(options: { loadKey: () => Promise<Buffer>; secure: boolean; maxAgeSeconds: number }) {
  // Read from the database on first use, not at start: building the app (e.g. for the OpenAPI
  // document) needs no database.
  let key: Promise<Buffer> | null = null;
  const mac = async (value: string) => {
    key ??= options.loadKey().catch((error: unknown) => {
      key = null;
      throw error;
    });
    return createHmac('sha256', await key)
      .update(value)
      .digest('base64url');
  };

  const cookie = (name: string, value: string, maxAgeSeconds: number) =>
    cookieHeader(name, value, maxAgeSeconds, options.secure);

  return {
    /** The visitor's CSRF token from a cookie this deployment signed, or a new one set on the reply. */
    async csrfToken(request: FastifyRequest, reply: FastifyReply): Promise<string> {
      const signed = readCookies(request.headers.cookie)[CSRF_COOKIE] ?? '';
      const [token, signature] = signed.split('.');
      if (token && signature && token.length === 43 && sameToken(await mac(token), signature)) return token;
      const fresh = randomBytes(32).toString('base64url');
      reply.header('set-cookie', cookie(CSRF_COOKIE, `${fresh}.${await mac(fresh)}`, options.maxAgeSeconds));
      return fresh;
    },

    /** The zone a visitor without a session chose, when it is a zone this service knows. */
    timeZone(request: FastifyRequest): string | null {
      const zone = readCookies(request.headers.cookie)[TIME_ZONE_COOKIE];
      return zone && zone.length <= 64 && isCanonicalTimeZone(zone) ? zone : null;
    },

    setTimeZone(reply: FastifyReply, zone: string): void {
      reply.header('set-cookie', cookie(TIME_ZONE_COOKIE, encodeURIComponent(zone), 366 * 86_400));
    },

    /** The language the visitor chose with the footer's control (signed in or not), as sent: callers check it is known. */
    language(request: FastifyRequest): string | null {
      const language = readCookies(request.headers.cookie)[LANGUAGE_COOKIE];
      return language && language.length <= 35 ? language : null;
    },

    setLanguage(reply: FastifyReply, language: string): void {
      reply.header('set-cookie', cookie(LANGUAGE_COOKIE, encodeURIComponent(language), 366 * 86_400));
    },
  };
}

export type PageCookies = ReturnType<typeof createPageCookies>;
