import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has working defaults for a newcomer', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      libraryTimeZone: 'Europe/London',
      worker: true,
      publicUrl: 'http://localhost:3000',
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer between 1 and 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT must be an integer between 1 and 65535, got "70000"'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must use postgres: or postgresql:, got "mysql:"'],
    [
      { LIBRARY_TIME_ZONE: 'Europe/Londn' },
      'LIBRARY_TIME_ZONE must be an IANA time zone name such as Europe/London, got "Europe/Londn"',
    ],
    [{ WORKER: 'maybe' }, 'WORKER must be one of on, off, got "maybe"'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters long'],
    [{ AUTH_JWKS_URL: 'https://idp/jwks' }, 'AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE to be set as well'],
  ])('stops on %j with one clear line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
