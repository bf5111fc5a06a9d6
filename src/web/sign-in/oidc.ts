import * as client from 'openid-client';
import type { Config } from '../../config.js';
import { isLoopbackHost } from '../../config.js';
import { singleLine } from '../../http/single-line.js';
import { ROLES, type Role } from '../../plugins/auth.js';
import type { SignedInPerson } from './service.js';

type OidcSettings = NonNullable<Config['web']['oidc']>;

/**
 * The institution's OpenID provider: authorization code with PKCE (S256), state and nonce, via
 * openid-client. Discovery happens on first use, so a provider that is down does not stop start-up.
 */
export function createOidcSignOn(settings: OidcSettings, redirectUri: string) {
  let configuration: Promise<client.Configuration> | undefined;
  const issuer = new URL(settings.issuer);

  function discover(): Promise<client.Configuration> {
    configuration ??= client
      .discovery(
        issuer,
        settings.clientId,
        settings.clientSecret,
        undefined,
        // Plain http only to a provider on this machine (development and tests).
        issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname)
          ? { execute: [client.allowInsecureRequests] }
          : {},
      )
      .catch((error: unknown) => {
        configuration = undefined;
        throw error;
      });
    return configuration;
  }

  function rolesOf(claims: Record<string, unknown>): Role[] {
    const raw = claims[settings.roleClaim];
    const listed = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : []).map(String);
    const roles = ROLES.filter((role) => listed.includes(role));
    if (roles.length > 0) return roles;
    return settings.defaultRole === 'student' ? ['student'] : [];
  }

  return {
    /** Where to send the browser, and what to remember until it comes back. */
    async start() {
      const config = await discover();
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.toString(), verifier, state, nonce };
    },

    /** Checks the callback against what was remembered and returns the person, or throws. */
    async finish(
      callbackUrl: URL,
      pending: { verifier: string; state: string; nonce: string },
    ): Promise<SignedInPerson> {
      const config = await discover();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = (tokens.claims() ?? {}) as Record<string, unknown>;
      const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : null;
      if (!email) throw new Error('the provider sent no email claim');
      return {
        sub: `oidc:${String(claims.sub)}`,
        email,
        name: typeof claims.name === 'string' ? singleLine(claims.name) : null,
        roles: rolesOf(claims),
      };
    },
  };
}

export type OidcSignOn = ReturnType<typeof createOidcSignOn>;
