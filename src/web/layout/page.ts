import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser, Role } from '../../plugins/auth.js';
import type { Catalogues, Translate } from '../../text/i18n.js';
import { ownName } from '../../text/languages.js';
import { createTimeFormat, type TimeFormat, timeWords } from '../../time/format.js';
import type { WebSession } from '../session.js';
import { markFieldErrors } from './field-errors.js';
import { TIME_ZONES, zoneSummary } from './zones.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The browser session (pages only), created on first visit for its CSRF token. */
    session: WebSession | null;
    /** The CSRF token the page's forms carry: the session's, or a visitor's signed cookie's. */
    csrfToken: string;
    /** The zone the person chose (kept in their session, or a visitor's cookie), or null. */
    chosenTimeZone: string | null;
    /** The language the person chose with the footer's control (a cookie), when there is a catalogue for it. */
    chosenLanguage?: string | null;
    /** The person an area's access rule let in (areaAccess), on that area's pages. */
    pageUser?: AuthUser;
    /** The injected clock's time when the page request arrived (for the zone's name and offset). */
    pageTime: number;
  }
  interface FastifyContextConfig {
    /** A server-rendered page: errors become HTML pages, not problem+json. */
    page?: boolean;
    /** A multipart form: the handler checks the CSRF token once it has read the parts. */
    csrfInHandler?: boolean;
    /** Where a page this POST draws returns after a time zone change (default: its own address). */
    zoneReturn?: (request: FastifyRequest) => ZoneReturn;
  }
}

/**
 * Where changing the time zone returns to: this page's address, or for a page a form's POST drew
 * (such as "Check your booking"), the form to send again (`fields`) to draw it in the new zone.
 */
export interface ZoneReturn {
  next: string;
  fields?: Record<string, string>;
}

/** A field error for the GOV.UK-style error summary: the field's id and what is wrong. */
export interface PageError {
  field: string;
  message: string;
}

export interface PageContext {
  t: Translate;
  lang: string;
  /** "ltr", or "rtl" for a language written right to left (Arabic). */
  dir: string;
  /** The languages of the footer's control, each named in itself; null on staff pages (English only). */
  languages: { tag: string; name: string }[] | null;
  fmt: TimeFormat;
  user: AuthUser | null;
  csrfToken: string;
  timeZone: string;
  hasChosenZone: boolean;
  zones: string[];
  path: string;
  /** The page's body with each error of its summary also at its field (field-errors.ts). */
  withFieldErrors: (body: string, errors: readonly PageError[] | undefined) => string;
  /** "India Standard Time (UTC+05:30)": the zone times are shown in, for the footer. */
  zoneSummary: string;
  zoneReturn: ZoneReturn;
  /** This page as a destination after sign-in (no link token in it). */
  signInNext: string;
}

/**
 * Pages only staff, admins and analysts see: drawn in English whatever the language chosen (their
 * words are not translated, and a page in one language is easier to read than a mixed one).
 */
const STAFF_PAGE = /^\/(staff|admin|analytics)(\/|\?|$)|^\/bookings\/[^/?]+\/attendance(\?|$)/;

/** The language a page is drawn in: English on staff pages; else the one chosen, else the browser's. */
export function pageLanguage(request: FastifyRequest, catalogues: Catalogues): string {
  if (STAFF_PAGE.test(request.url)) return 'en';
  return request.chosenLanguage ?? catalogues.negotiate(request.headers['accept-language']);
}

/** What every page template receives, from the request: language, zone, user, CSRF token. */
export function pageContext(request: FastifyRequest, catalogues: Catalogues, defaultTimeZone: string): PageContext {
  const lang = pageLanguage(request, catalogues);
  const first = (request.headers['accept-language'] ?? '').split(',')[0]?.split(';')[0]?.trim() ?? '';
  let locale = lang === 'en' ? 'en-GB' : lang;
  try {
    // Format in the browser's own variant (en-GB, en-US) when Intl knows it.
    if (
      first &&
      Intl.DateTimeFormat.supportedLocalesOf([first]).length > 0 &&
      first.toLowerCase().startsWith(lang.toLowerCase())
    ) {
      locale = first;
    }
  } catch {
    locale = lang;
  }
  const timeZone = request.chosenTimeZone ?? defaultTimeZone;
  const t = catalogues.translator(lang);
  const fmt = createTimeFormat(locale, timeZone, timeWords(t));
  return {
    t,
    lang,
    dir: t('layout.dir') === 'rtl' ? 'rtl' : 'ltr',
    languages: STAFF_PAGE.test(request.url) ? null : catalogues.languages.map((tag) => ({ tag, name: ownName(tag) })),
    fmt,
    user: request.session?.user ?? null,
    csrfToken: request.csrfToken,
    timeZone,
    hasChosenZone: Boolean(request.chosenTimeZone),
    zones: TIME_ZONES,
    path: request.url,
    zoneSummary: zoneSummary(t, fmt, timeZone, request.pageTime ?? 0),
    withFieldErrors: (body, errors) => markFieldErrors(body, errors, t('form.errorPrefix')),
    zoneReturn:
      request.method === 'POST'
        ? (request.routeOptions.config?.zoneReturn?.(request) ?? { next: request.url })
        : { next: request.url },
    signInNext: signInNextFor(request.url),
  };
}

/** An origin no request can have: a destination parsed against it must keep it to be our own. */
const OWN_ORIGIN = 'https://liaison.invalid';
// Whitespace (a tab inside "/\t/host" is dropped by URL parsers, leaving "//host"), controls, backslashes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const REFUSED_IN_NEXT = /[\s\u0000-\u001f\u007f\\]/u;

/**
 * Where to go after sign-in, as a path on this site: parsed against our own origin and kept only
 * when it stays there. Whitespace, control characters and backslashes are refused (browsers strip
 * or rewrite them, turning a path into another host); non-ASCII is percent-encoded. Anything
 * else: home.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000 || !next.startsWith('/') || REFUSED_IN_NEXT.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, OWN_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== OWN_ORIGIN) return '/';
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Decided on the normalised path: dot segments can leave "//host" ("/.//evil" is "//evil"), which
  // a browser reads as another site.
  return /^\/[/\\]/.test(path) ? '/' : path;
}

/** This page as the place to come back to after sign-in: a link token never travels in `next`. */
export function signInNextFor(requestUrl: string): string {
  const url = new URL(safeNext(requestUrl), OWN_ORIGIN);
  url.searchParams.delete('token');
  return `${url.pathname}${url.search}`;
}

/** `value` when it is one of `known` (a notice named in a redirect's query), else null: never a key built from input. */
export function knownValue<T extends string>(value: unknown, known: readonly T[]): T | null {
  return typeof value === 'string' && (known as readonly string[]).includes(value) ? (value as T) : null;
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
    void reply.redirect(`/sign-in?next=${encodeURIComponent(signInNextFor(request.url))}`, 303);
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

/** Who may use an area of pages: anyone signed in, or one role (as requireRole reads it). */
export type AreaRule = 'signed-in' | 'librarian' | 'admin' | 'analyst';

/**
 * The one access rule of an area of pages, as `config.access` is for the API: every route the
 * area plugin `app` registers first checks `rule` (the sign-in page, or a 403 page saying why,
 * otherwise), and its handler reads the person with pageUser.
 */
export function areaAccess(
  app: FastifyInstance,
  deps: { catalogues: Catalogues; config: { libraryTimeZone: string } },
  rule: AreaRule,
): void {
  app.addHook('preHandler', async (request, reply) => {
    const user = rule === 'signed-in' ? requireSignIn(request, reply) : requireRole(request, reply, deps, rule);
    if (!user) return reply;
    request.pageUser = user;
  });
}

/** The person an area's access rule let in; only for handlers of an area with areaAccess. */
export function pageUser(request: FastifyRequest): AuthUser {
  if (!request.pageUser) throw new Error(`${request.url}: pageUser read on a page without an area access rule`);
  return request.pageUser;
}

/** The librarian an area for librarians let in (areaAccess(app, deps, 'librarian')). */
export function pageLibrarian(request: FastifyRequest): SignedInLibrarian {
  return pageUser(request) as SignedInLibrarian;
}
