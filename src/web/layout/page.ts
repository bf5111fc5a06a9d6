import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser, Role } from '../../plugins/auth.js';
import { isCanonicalTimeZone } from '../../time/zone.js';
import type { WebSession } from '../session.js';
import { createTimeFormat, type TimeFormat } from './format.js';
import type { Catalogues, Translate } from './i18n.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The browser session (pages only), created on first visit for its CSRF token. */
    session: WebSession | null;
  }
  interface FastifyContextConfig {
    /** A server-rendered page: errors become HTML pages, not problem+json. */
    page?: boolean;
    /** A multipart form: the handler checks the CSRF token once it has read the parts. */
    csrfInHandler?: boolean;
  }
}

/** Canonical IANA zones for the time zone choice, sorted. */
export const TIME_ZONES: string[] = Intl.supportedValuesOf('timeZone')
  .filter(isCanonicalTimeZone)
  .concat(['UTC'])
  .filter((zone, index, all) => all.indexOf(zone) === index)
  .sort();

/** A field error for the GOV.UK-style error summary: the field's id and what is wrong. */
export interface PageError {
  field: string;
  message: string;
}

export interface PageContext {
  t: Translate;
  lang: string;
  fmt: TimeFormat;
  user: AuthUser | null;
  csrfToken: string;
  timeZone: string;
  hasChosenZone: boolean;
  zones: string[];
  path: string;
}

/** What every page template receives, from the request: language, zone, user, CSRF token. */
export function pageContext(request: FastifyRequest, catalogues: Catalogues, defaultTimeZone: string): PageContext {
  const lang = catalogues.negotiate(request.headers['accept-language']);
  const first = (request.headers['accept-language'] ?? '').split(',')[0]?.split(';')[0]?.trim() ?? '';
  let locale = lang === 'en' ? 'en-GB' : lang;
  try {
    // Format in the browser's own variant (en-GB, en-US) when Intl knows it.
    if (first && Intl.DateTimeFormat.supportedLocalesOf([first]).length > 0 && first.toLowerCase().startsWith(lang)) {
      locale = first;
    }
  } catch {
    locale = lang;
  }
  const timeZone = request.session?.timeZone ?? defaultTimeZone;
  return {
    t: catalogues.translator(lang),
    lang,
    fmt: createTimeFormat(locale, timeZone),
    user: request.session?.user ?? null,
    csrfToken: request.session?.csrfToken ?? '',
    timeZone,
    // Without a session there is nowhere to keep a detected zone: the page does not try.
    hasChosenZone: !request.session || Boolean(request.session.timeZone),
    zones: TIME_ZONES,
    path: request.url,
  };
}

/** Only same-site paths may be a destination after sign-in: no open redirects. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (/[\r\n]/.test(next)) return '/';
  return next;
}

/** Where a person goes after signing in: where they were going, or their own start page. */
export function landingFor(roles: readonly Role[], next: unknown): string {
  const safe = safeNext(next);
  if (safe !== '/') return safe;
  if (roles.includes('librarian')) return '/staff';
  if (roles.includes('admin')) return '/admin';
  return roles.includes('analyst') ? '/analytics' : safe;
}

/** Sends a person who must sign in to the sign-in page, coming back here afterwards. */
export function requireSignIn(request: FastifyRequest, reply: FastifyReply, roles?: Role[]): AuthUser | null {
  const user = request.session?.user ?? null;
  if (!user) {
    void reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`, 303);
    return null;
  }
  if (roles && !roles.some((role) => user.roles.includes(role))) {
    return null;
  }
  return user;
}

/** A librarian whose sign-in is linked to a librarian record. */
export type SignedInLibrarian = AuthUser & { librarianId: string };

/**
 * The signed-in person when they hold `role` (a librarian also linked to a librarian record);
 * otherwise the sign-in page, or a 403 page saying why, is sent and null returned.
 */
export function requireRole(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { catalogues: Catalogues; config: { libraryTimeZone: string } },
  role: 'librarian',
): SignedInLibrarian | null;
export function requireRole(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { catalogues: Catalogues; config: { libraryTimeZone: string } },
  role: 'admin' | 'analyst',
): AuthUser | null;
export function requireRole(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { catalogues: Catalogues; config: { libraryTimeZone: string } },
  role: 'librarian' | 'admin' | 'analyst',
): AuthUser | null {
  const user = requireSignIn(request, reply);
  if (!user) return null;
  // Analysts' pages are open to admins too, as the uptake API is.
  const allowed =
    role === 'librarian'
      ? user.roles.includes('librarian') && Boolean(user.librarianId)
      : role === 'analyst'
        ? user.roles.includes('analyst') || user.roles.includes('admin')
        : user.roles.includes(role);
  if (!allowed) {
    const page = pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
    void reply.code(403).view('layout/message', {
      ...page,
      title: page.t('error.forbidden.title'),
      message: page.t(role === 'librarian' ? 'staff.notLibrarian' : 'error.forbidden.body'),
      link: { href: '/', text: page.t('home.title') },
    });
    return null;
  }
  return user;
}
