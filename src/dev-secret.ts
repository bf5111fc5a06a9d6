import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError, isLoopbackHost } from './config.js';

/**
 * The HS256 secret: AUTH_JWT_SECRET when set; on the embedded database, one generated once into
 * DATA_DIR so a newcomer can mint tokens with no set-up. A shared PostgreSQL deployment must say.
 */
export function withSigningSecret(config: Config): { config: Config; created: boolean; isDevelopmentSecret: boolean } {
  if (config.auth.jwtSecret || config.databaseUrl) {
    if (!config.auth.jwtSecret && !config.auth.jwks) {
      throw new ConfigError('Set AUTH_JWT_SECRET (32+ characters) or AUTH_JWKS_URL when DATABASE_URL is set');
    }
    return { config, created: false, isDevelopmentSecret: false };
  }
  const file = path.join(config.dataDir, 'dev-jwt-secret');
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    created = true;
  }
  const jwtSecret = readFileSync(file, 'utf8').trim();
  return { config: { ...config, auth: { ...config.auth, jwtSecret } }, created, isDevelopmentSecret: true };
}

/**
 * The generated development secret sits in a file anyone with the folder can read, and with it
 * anyone can mint an admin token: never serve beyond this machine with it.
 */
export function checkListenSafety(config: Pick<Config, 'host'>, isDevelopmentSecret: boolean): void {
  if (isDevelopmentSecret && !isLoopbackHost(config.host)) {
    throw new ConfigError(
      `HOST=${config.host} would expose a server whose tokens are signed with the generated development secret; set AUTH_JWT_SECRET (32+ random characters) or AUTH_JWKS_URL to listen beyond this machine`,
    );
  }
}

/**
 * The key calendar addresses are sealed with: CALENDAR_SECRET_KEY when set; on the embedded
 * database, one generated once into DATA_DIR (and carried by backups). With DATABASE_URL and no
 * key, none: the server then refuses to keep a calendar address, naming the setting.
 */
export function withCalendarKey(config: Config): Config {
  if (config.calendarSecretKey || config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'calendar-secret-key');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return { ...config, calendarSecretKey: readFileSync(file, 'utf8').trim() };
}

/**
 * The development sign-in address's code: DEVELOPMENT_SIGN_IN_CODE when set, else 128 random
 * bits new at each start, printed by npm start and known to no one else (never written to disk).
 */
export function withDevelopmentCode(config: Config): Config {
  if (!config.web.developmentSignIn || config.web.developmentSignInCode) return config;
  return { ...config, web: { ...config.web, developmentSignInCode: randomBytes(16).toString('base64url') } };
}
