import type { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { openPostgres } from '../../src/db/client.js';
import type { Role } from '../../src/plugins/auth.js';
import { fixedClock } from '../../src/time/clock.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { proxyPostgres, type StatementLog, watchPglite } from './statements.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
/** The development sign-in address's code in tests (npm start makes a random one). */
export const TEST_DEVELOPMENT_CODE = 'test-development-sign-in-code-0123';
/** The address npm start prints: a browser that opens it may use the development sign-in form. */
export const DEVELOPMENT_SIGN_IN_ADDRESS = `/sign-in/development?code=${TEST_DEVELOPMENT_CODE}`;

export interface TestContext {
  app: App;
  database: TestDatabase;
  db: TestDatabase['handle']['db'];
  clock: ReturnType<typeof fixedClock>;
  config: Config;
  /** With `countStatements`: every statement the app sends to the database (tests/helpers/statements.ts). */
  statements: StatementLog;
  /** A signed bearer token for a user with these roles. */
  token(role: Role | Role[], claims?: { email?: string; name?: string; sub?: string }): Promise<string>;
  auth(
    role: Role | Role[],
    claims?: { email?: string; name?: string; sub?: string },
  ): Promise<{ authorization: string }>;
  close(): Promise<void>;
}

/** A token issued at `now` (the test clock: the app checks expiry against it) living `lifetimeSeconds`. */
export async function signToken(
  secret: string,
  roles: Role[],
  claims: { email?: string; name?: string; sub?: string } = {},
  options: { now: Date; lifetimeSeconds?: number },
): Promise<string> {
  const email = claims.email ?? `${roles[0]}@example.ac.uk`;
  const issuedAt = Math.floor(options.now.getTime() / 1000);
  return new SignJWT({ email, name: claims.name ?? email.split('@')[0], roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? `sub:${email}`)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.lifetimeSeconds ?? 3600))
    .sign(new TextEncoder().encode(secret));
}

const noLog: StatementLog = {
  take() {
    throw new Error('createTestApp({ countStatements: true }) to count statements');
  },
  close: async () => {},
};

export async function createTestApp(
  options: { now?: string; env?: Record<string, string>; countStatements?: boolean; logStream?: Writable } = {},
): Promise<TestContext> {
  const database = await createTestDatabase();
  const clock = fixedClock(options.now ?? '2027-03-01T12:00:00Z');
  const config = loadConfig({
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    DEVELOPMENT_SIGN_IN_CODE: TEST_DEVELOPMENT_CODE,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  // Counting on PostgreSQL: the app connects through a loopback proxy that reads the wire protocol.
  const proxy = options.countStatements && database.url ? await proxyPostgres(database.url) : undefined;
  const counted = proxy ? openPostgres(proxy.url, { max: 10 }) : undefined;
  const statements: StatementLog = proxy ?? (options.countStatements ? watchPglite(database.handle) : noLog);
  const app = await buildApp({
    db: counted?.db ?? database.handle.db,
    health: counted?.health ?? database.handle.health,
    clock,
    config,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await app.ready();
  const token: TestContext['token'] = (role, claims) =>
    signToken(TEST_JWT_SECRET, [role].flat(), claims, { now: clock.now() });
  return {
    app,
    database,
    db: counted?.db ?? database.handle.db,
    clock,
    config,
    statements,
    token,
    auth: async (role, claims) => ({ authorization: `Bearer ${await token(role, claims)}` }),
    async close() {
      await app.close();
      await counted?.close();
      await statements.close();
      await database.drop();
    },
  };
}
