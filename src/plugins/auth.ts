import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config.js';
import { Forbidden, Unauthenticated } from '../errors.js';
import { singleLine } from '../http/single-line.js';
import { problemResponse } from './errors.js';

export const ROLES = ['student', 'librarian', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface AuthUser {
  sub: string;
  email: string | null;
  name: string | null;
  roles: Role[];
  /** Set when the token has the librarian role and its email matches a librarian. */
  librarianId: string | null;
}

/**
 * Who may call a route: 'public', or the roles allowed. Every /api route must say; the plugin
 * refuses to register one that does not, so no route is open by accident.
 */
export type Access = 'public' | readonly Role[];

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /** A booking manage token from an email link (X-Manage-Token header or ?token=), unverified. */
    manageToken: string | null;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** The route also accepts a booking manage token in place of a JWT; the service checks it. */
    manageToken?: boolean;
  }
}

export interface AuthOptions {
  auth: Config['auth'];
  /** Links a librarian token to its librarian record by email. */
  findLibrarianIdByEmail(email: string): Promise<string | null>;
  /** The injected clock: expiry is checked against it. */
  now(): Date;
}

type Verifier = (token: string) => Promise<JWTPayload>;

function buildVerifier(auth: Config['auth'], now: () => Date): Verifier {
  const secret = auth.jwtSecret ? new TextEncoder().encode(auth.jwtSecret) : undefined;
  const jwks = auth.jwks ? createRemoteJWKSet(new URL(auth.jwks.url)) : undefined;
  const verified = async (token: string) => {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256' && secret) {
      const options = { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'], currentDate: now() };
      return (await jwtVerify(token, secret, options)).payload;
    }
    if (jwks && auth.jwks && alg && /^(RS|ES|PS)\d+$/.test(alg)) {
      const options = {
        issuer: auth.jwks.issuer,
        audience: auth.jwks.audience,
        requiredClaims: ['sub', 'exp'],
        currentDate: now(),
      };
      return (await jwtVerify(token, jwks, options)).payload;
    }
    throw new Unauthenticated(`Tokens signed with ${alg ?? 'no algorithm'} are not accepted here.`);
  };
  const accepted = new Map<string, { payload: JWTPayload; until: number }>();
  return async (token) => {
    const at = now().getTime();
    const known = accepted.get(token);
    if (known && at < known.until && inForce(known.payload, at)) return known.payload;
    const payload = await verified(token);
    // A token valid for centuries is a stolen key waiting to happen: cap how far ahead exp may be.
    const latest = at / 1000 + auth.maxTokenHours * 3600;
    if (typeof payload.exp !== 'number' || payload.exp > latest) {
      throw new Unauthenticated(`The token lives too long: at most ${auth.maxTokenHours} hours are accepted.`);
    }
    if (accepted.size >= ACCEPTED_TOKENS) accepted.delete(accepted.keys().next().value as string);
    accepted.delete(token);
    accepted.set(token, { payload, until: at + ACCEPTED_FOR_MS });
    return payload;
  };
}

/**
 * Tokens verified lately, kept so that a student's next requests skip the signature check (about a
 * tenth of a booking's CPU in this process). Keyed by the whole token, signature included, so only
 * the exact bytes once verified can hit. Kept at most ACCEPTED_FOR_MS, so a key the identity
 * provider withdraws stops counting soon after; expiry and not-before are checked on every use.
 */
const ACCEPTED_TOKENS = 5000;
const ACCEPTED_FOR_MS = 5 * 60_000;

/** A verified payload's time claims at `at` (ms): not expired, not before its nbf (jose's rules, no leeway). */
function inForce(payload: JWTPayload, at: number): boolean {
  const seconds = Math.floor(at / 1000);
  if (typeof payload.exp !== 'number' || seconds >= payload.exp) return false;
  return typeof payload.nbf !== 'number' || seconds >= payload.nbf;
}

function rolesOf(payload: JWTPayload): Role[] {
  const claimed = [payload.role, ...(Array.isArray(payload.roles) ? payload.roles : [])];
  return ROLES.filter((role) => claimed.includes(role));
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new Unauthenticated('The Authorization header must be "Bearer <token>".');
  return match[1];
}

function describeAccess(access: Access): string {
  if (access === 'public') return 'Anyone, no sign-in needed.';
  return access.length > 0 ? `Signed in as: ${access.join(', ')}.` : 'Only with a manage link.';
}

export const authPlugin = fp(async (app: FastifyInstance, options: AuthOptions) => {
  const verify = buildVerifier(options.auth, options.now);
  app.decorateRequest('user', null);
  app.decorateRequest('manageToken', null);

  async function authenticate(request: FastifyRequest): Promise<AuthUser | null> {
    const token = bearerToken(request);
    if (!token) return null;
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new Unauthenticated('The token has expired; sign in again.');
      throw new Unauthenticated('The token is not valid.');
    }
    const roles = rolesOf(payload);
    const email = typeof payload.email === 'string' ? payload.email : null;
    const librarianId = roles.includes('librarian') && email ? await options.findLibrarianIdByEmail(email) : null;
    return {
      sub: String(payload.sub),
      email,
      name: typeof payload.name === 'string' ? singleLine(payload.name) : null,
      roles,
      librarianId,
    };
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/api/')) return;
    const access = route.config?.access;
    if (!access) throw new Error(`Route ${route.method} ${route.url} does not declare config.access`);
    route.schema ??= {};
    const schema = route.schema as Record<string, unknown> & { response?: Record<string, unknown> };
    const accessLine = describeAccess(access);
    // GET routes come through twice (GET and its HEAD twin) with one schema object.
    if (!String(schema.description ?? '').endsWith(accessLine)) {
      schema.description = [schema.description, accessLine].filter(Boolean).join(' ');
    }
    const acceptsManageToken = route.config?.manageToken === true;
    if (acceptsManageToken) schema.description = `${schema.description} Or with a manage link's token.`;
    schema.security =
      access === 'public'
        ? []
        : [...(access.length > 0 ? [{ bearerAuth: [] }] : []), ...(acceptsManageToken ? [{ manageToken: [] }] : [])];
    if (access !== 'public') {
      schema.response ??= {};
      schema.response[401] ??= problemResponse('No valid credentials were sent');
      schema.response[403] ??= problemResponse('The caller may not do this');
    }

    const check = async (request: FastifyRequest) => {
      if (access === 'public') {
        // A stale or foreign token must not lock anyone out of public pages.
        request.user = await authenticate(request).catch(() => null);
        return;
      }
      request.user = await authenticate(request);
      if (!request.user && acceptsManageToken) {
        const query = request.query as { token?: unknown } | undefined;
        const header = request.headers['x-manage-token'];
        const token = typeof header === 'string' ? header : typeof query?.token === 'string' ? query.token : null;
        if (token) {
          request.manageToken = token;
          return;
        }
        if (access.length === 0) throw new Unauthenticated('Use the link from your invitation email.');
      }
      if (!request.user) throw new Unauthenticated();
      const user = request.user;
      if (!access.some((role) => user.roles.includes(role))) {
        throw new Forbidden(`This needs one of the roles: ${access.join(', ')}.`);
      }
    };
    // onRequest, before the body is read: an anonymous upload is refused without being received.
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [check, ...existing];
  });
});

/** A librarian may manage only their own record; an admin any. */
export function assertCanManageLibrarian(user: AuthUser | null, librarianId: string): void {
  if (user?.roles.includes('admin')) return;
  if (user?.roles.includes('librarian') && user.librarianId === librarianId) return;
  throw new Forbidden('Only this librarian or an admin may change it.');
}
