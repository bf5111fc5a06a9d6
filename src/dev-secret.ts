import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError } from './config.js';

/**
 * The HS256 secret: AUTH_JWT_SECRET when set; on the embedded database, one generated once into
 * DATA_DIR so a newcomer can mint tokens with no set-up. A shared PostgreSQL deployment must say.
 */
export function withSigningSecret(config: Config): { config: Config; created: boolean } {
  if (config.auth.jwtSecret || config.databaseUrl) {
    if (!config.auth.jwtSecret && !config.auth.jwks) {
      throw new ConfigError('Set AUTH_JWT_SECRET (32+ characters) or AUTH_JWKS_URL when DATABASE_URL is set');
    }
    return { config, created: false };
  }
  const file = path.join(config.dataDir, 'dev-jwt-secret');
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    created = true;
  }
  const jwtSecret = readFileSync(file, 'utf8').trim();
  return { config: { ...config, auth: { ...config.auth, jwtSecret } }, created };
}
