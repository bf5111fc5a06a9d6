import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../config.js';
import { withSigningSecret } from '../dev-secret.js';
import { ROLES, type Role } from '../plugins/auth.js';
import { runCommand } from './command.js';

/** Mints an HS256 token for local use: npm run token -- --role admin --email you@example.ac.uk */
const USAGE = `
npm run -s token -- [--role ROLE]... [--email EMAIL] [--name NAME] [--sub SUBJECT] [--hours N]
Prints a bearer token signed with AUTH_JWT_SECRET (or the development secret in DATA_DIR).
  --role   student (default), librarian, analyst or admin; repeat or comma-separate for several
  --email  the email claim (a librarian token is linked to the librarian with this email)
  --hours  lifetime, default 12 (at most AUTH_MAX_TOKEN_HOURS, 168 by default)
Example: TOKEN=$(npm run -s token -- --role student --email ana@example.ac.uk)`;

async function main() {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', multiple: true, default: ['student'] },
      email: { type: 'string' },
      name: { type: 'string' },
      sub: { type: 'string' },
      hours: { type: 'string', default: '12' },
    },
  });
  const roles = (values.role ?? []).flatMap((role) => role.split(','));
  const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
  if (unknown.length > 0)
    throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got "${unknown.join(', ')}"`);
  const hours = Number(values.hours);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 90)
    throw new ConfigError('--hours must be between 0 and 2160');
  const email = values.email ?? `${roles[0]}@example.ac.uk`;
  const { config } = withSigningSecret(loadConfig());
  if (!config.auth.jwtSecret)
    throw new ConfigError('No AUTH_JWT_SECRET to sign with (this deployment uses AUTH_JWKS_URL)');

  const token = await new SignJWT({
    email,
    name: values.name ?? email.split('@')[0],
    ...(roles.length === 1 ? { role: roles[0] as Role } : { roles }),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(values.sub ?? `dev:${email}`)
    .setIssuedAt()
    .setExpirationTime(`${Math.round(hours * 3600)}s`)
    .sign(new TextEncoder().encode(config.auth.jwtSecret));
  console.log(token);
}

runCommand(USAGE, main);
