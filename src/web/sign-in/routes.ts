import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../../plugins/auth.js';
import type { WebDeps } from '../deps.js';
import { EMAIL } from '../layout/forms.js';
import { landingFor, type PageError, pageContext, safeNext } from '../layout/page.js';
import { cookieHeader, readCookies, sameToken } from '../session.js';

/** The cookie that says this browser opened the development sign-in address. */
const DEVELOPMENT_COOKIE = 'liaison_dev';

/** What the sign-in pages use of the web front's services. */
type SignInPageDeps = Pick<
  WebDeps,
  'catalogues' | 'clock' | 'config' | 'oidc' | 'sessions' | 'signIn' | 'pageCookies' | 'categories'
>;

type Form = Record<string, string | undefined>;

const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
];

/**
 * A request from this machine itself: its socket's peer is a loopback address (not `request.ip`,
 * which a trusted proxy rewrites) and no proxy said it forwarded it. A proxy on this machine that
 * publishes the server elsewhere adds forwarding headers, or is caught by the start-up checks.
 */
export function isOwnMachineRequest(request: FastifyRequest): boolean {
  const peer = request.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || /^(::ffff:)?127\./.test(peer);
  return loopback && FORWARDING_HEADERS.every((name) => request.headers[name] === undefined);
}

/** a…@uni.ac.uk: enough for its owner to recognise, not enough to read someone's address off a screen. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${[...local][0] ?? ''}…@${domain}`;
}

/** A single query or form value: repeated values are refused (undefined), as are non-strings. */
function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Sign-in pages: the institution's single sign-on, an emailed link, or (development only) a form. */
/** A sign-in form drawn again (with its errors, or an expired link): after a zone change, the sign-in page. */
function signInAgain(request: FastifyRequest) {
  const next = safeNext((request.body as Record<string, unknown> | undefined)?.next);
  return { next: next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}` };
}

export async function signInRoutes(app: FastifyInstance, deps: SignInPageDeps) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  /**
   * On signing in, one language for pages and emails: the one chosen on this browser is kept with
   * the student's profile; with none chosen here, the profile's (chosen on another device) is.
   */
  async function settleLanguage(request: FastifyRequest, reply: FastifyReply, person: { sub: string }): Promise<void> {
    if (request.chosenLanguage) {
      await deps.categories.rememberLanguage(person, request.chosenLanguage);
      return;
    }
    const kept = deps.catalogues.known(await deps.categories.languageOf(person));
    if (kept) deps.pageCookies.setLanguage(reply, kept);
  }

  function renderSignIn(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: PageError[]; values?: Form; status?: number } = {},
  ) {
    const page = context(request);
    const next = safeNext(single((request.query as Form)?.next) ?? single((request.body as Form | undefined)?.next));
    return reply.code(extra.status ?? 200).view('sign-in/sign-in', {
      ...page,
      title: page.t('signIn.title'),
      next,
      oidc: Boolean(config.web.oidc),
      emailLink: config.web.signInEmailDomains.length > 0,
      domains: config.web.signInEmailDomains,
      development: isDevelopmentUnlocked(request),
      roles: ROLES,
      errors: extra.errors ?? [],
      values: extra.values ?? {},
    });
  }

  app.get('/sign-in', { config: { page: true } }, async (request, reply) => renderSignIn(request, reply));

  // The address npm start prints: it lets this browser use the development form (a cookie holding
  // the code), then shows it. Headers cannot prove where a request came from; the code can.
  const developmentCode = config.web.developmentSignIn ? config.web.developmentSignInCode : undefined;
  function isDevelopmentUnlocked(request: FastifyRequest): boolean {
    if (!developmentCode || !isOwnMachineRequest(request)) return false;
    return sameToken(developmentCode, readCookies(request.headers.cookie)[DEVELOPMENT_COOKIE]);
  }
  app.get(
    '/sign-in/development',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      const code = single(request.query?.code);
      if (!developmentCode || !isOwnMachineRequest(request) || !sameToken(developmentCode, code))
        return reply.callNotFound();
      reply.header('set-cookie', cookieHeader(DEVELOPMENT_COOKIE, developmentCode, 7 * 24 * 3600, false));
      return reply.redirect('/sign-in', 303);
    },
  );

  app.post(
    '/sign-in/email',
    {
      config: {
        page: true,
        zoneReturn: signInAgain,
        rateLimit: { max: 10, timeWindow: '1 minute', keyGenerator: (request) => `sign-in-email:${request.ip}` },
      },
    },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const email = (request.body?.email ?? '').trim();
      const page = context(request);
      if (!config.web.signInEmailDomains.length) return reply.redirect('/sign-in', 303);
      if (!EMAIL.test(email) || email.length > 254) {
        return renderSignIn(request, reply, {
          status: 400,
          errors: [{ field: 'email', message: page.t('signIn.email.invalid') }],
          values: { email },
        });
      }
      if (!deps.signIn.isAllowedAddress(email)) {
        return renderSignIn(request, reply, {
          status: 400,
          errors: [
            {
              field: 'email',
              message: page.t('signIn.email.domain', { domains: config.web.signInEmailDomains.join(', ') }),
            },
          ],
          values: { email },
        });
      }
      await deps.signIn.requestLink(email, safeNext(request.body?.next), page.lang);
      return reply.redirect('/sign-in/check-email', 303);
    },
  );

  app.get('/sign-in/check-email', { config: { page: true } }, async (request, reply) => {
    const page = context(request);
    return reply.view('sign-in/check-email', { ...page, title: page.t('signIn.checkEmail.title') });
  });

  const linkExpired = (request: FastifyRequest, reply: FastifyReply) => {
    const page = context(request);
    return reply.code(410).view('sign-in/link-expired', { ...page, title: page.t('signIn.linkExpired.title') });
  };
  const linkToken = (value: unknown) => {
    const token = single(value);
    return token !== undefined && /^[\w-]{43}$/.test(token) ? token : undefined;
  };

  // Opening the link only asks: using it is a POST from this page, so a link opened by a mail
  // scanner is not spent, and someone else's link cannot silently replace the session in this browser.
  app.get(
    '/sign-in/link',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      const token = linkToken(request.query.token);
      const email = token ? await deps.signIn.peekLink(token) : null;
      if (!token || !email) return linkExpired(request, reply);
      const page = context(request);
      const current = request.session?.user ?? null;
      return reply.view('sign-in/link-confirm', {
        ...page,
        title: page.t(current ? 'signIn.link.switchTitle' : 'signIn.link.title', { email: maskEmail(email) }),
        token,
        email: maskEmail(email),
        current: current ? (current.email ?? current.name ?? '') : null,
      });
    },
  );

  app.post(
    '/sign-in/link',
    { config: { page: true, zoneReturn: signInAgain } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const token = linkToken(request.body?.token);
      const used = token ? await deps.signIn.consumeLink(token) : null;
      if (!used) return linkExpired(request, reply);
      await deps.sessions.signIn(reply, request.session, used.person, request.chosenTimeZone);
      await settleLanguage(request, reply, used.person);
      return reply.redirect(landingFor(used.person.roles, used.next), 303);
    },
  );

  app.post(
    '/sign-in/development',
    { config: { page: true, zoneReturn: signInAgain } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      if (!isDevelopmentUnlocked(request)) return reply.callNotFound();
      const page = context(request);
      const email = (request.body?.email ?? '').trim().toLowerCase();
      const role = request.body?.role as Role | undefined;
      const errors: PageError[] = [];
      if (!EMAIL.test(email)) errors.push({ field: 'dev-email', message: page.t('signIn.email.invalid') });
      if (!role || !(ROLES as readonly string[]).includes(role)) {
        errors.push({ field: 'dev-role-student', message: page.t('signIn.development.roleRequired') });
      }
      if (errors.length > 0) {
        return renderSignIn(request, reply, { status: 400, errors, values: { devEmail: email, role } });
      }
      const person = { sub: `dev:${email}`, email, name: email.split('@')[0] ?? email, roles: [role as Role] };
      await deps.sessions.signIn(reply, request.session, person, request.chosenTimeZone);
      await settleLanguage(request, reply, person);
      return reply.redirect(landingFor([role as Role], request.body?.next), 303);
    },
  );

  const SIGN_ON_MINUTES = 10;

  // A POST: the session that remembers the sign-on in progress is made by a form, never by a view.
  app.post('/sign-in/oidc', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!deps.oidc) return reply.callNotFound();
    const session = request.session ?? (await deps.sessions.start(reply, request.chosenTimeZone));
    const started = await deps.oidc.start();
    await deps.sessions.beginSignOn(session, {
      verifier: started.verifier,
      state: started.state,
      nonce: started.nonce,
      next: safeNext(request.body?.next),
    });
    return reply.redirect(started.url, 303);
  });

  app.get('/sign-in/oidc/callback', { config: { page: true } }, async (request, reply) => {
    if (!deps.oidc) return reply.callNotFound();
    const page = context(request);
    const failed = (message: string, status = 400) =>
      reply.code(status).view('layout/message', {
        ...page,
        title: page.t('signIn.sso.failed.title'),
        message,
        link: { href: '/sign-in', text: page.t('signIn.linkExpired.again') },
      });
    // Taken once: a replayed callback (or a forged one) finds nothing to finish.
    const pending = request.session ? await deps.sessions.takeSignOn(request.session) : null;
    const ageMs = pending ? clock.now().getTime() - Date.parse(pending.startedAt) : Number.POSITIVE_INFINITY;
    if (!pending || ageMs > SIGN_ON_MINUTES * 60_000) return failed(page.t('signIn.sso.failed.expired'));
    let person: Awaited<ReturnType<NonNullable<WebDeps['oidc']>['finish']>>;
    try {
      person = await deps.oidc.finish(new URL(request.url, config.publicUrl), pending);
    } catch (error) {
      request.log.warn({ err: error }, 'single sign-on refused');
      return failed(page.t('signIn.sso.failed.refused'));
    }
    if (person.roles.length === 0) return failed(page.t('signIn.sso.failed.noRole'), 403);
    await deps.sessions.signIn(reply, request.session, person, request.chosenTimeZone);
    await settleLanguage(request, reply, person);
    return reply.redirect(landingFor(person.roles, pending.next), 303);
  });

  app.post('/sign-out', { config: { page: true } }, async (request, reply) => {
    await deps.sessions.signOut(reply, request.session);
    return reply.redirect('/', 303);
  });
}
