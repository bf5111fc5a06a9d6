import path from 'node:path';
import { isCanonicalTimeZone } from './time/zone.js';

/** A bad environment variable: start-up stops with this one line. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** A URL as it may be printed: any password replaced by ***, so errors and banners never show it. */
export function maskUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable: still hide what looks like user:password@.
    return raw.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

function url(env: Env, name: string, protocols: string[]): URL | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(', ')}), got "${maskUrl(raw)}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return parsed;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function timeZone(env: Env, name: string, fallback: string): string {
  const raw = text(env, name) ?? fallback;
  if (!isCanonicalTimeZone(raw)) {
    throw new ConfigError(`${name} must be an IANA time zone name such as Europe/London, got "${raw}"`);
  }
  return raw;
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host) || host.startsWith('127.');
}

/**
 * Why the development sign-in form (sign in as anyone, with any role) must stay off, or null when it
 * may be offered: only on a developer's own machine, meaning the embedded database, no single
 * sign-on, listening on loopback only, not behind a proxy and not published over https. Each
 * request must still come from a loopback address without forwarding headers (web/sign-in).
 */
function developmentSignInRefusal(facts: {
  setting: 'on' | 'off';
  databaseUrl: URL | undefined;
  oidc: boolean;
  host: string;
  publicUrl: string;
  trustProxy: string[];
}): string | null {
  if (facts.setting === 'off') return 'DEVELOPMENT_SIGN_IN=off';
  if (facts.databaseUrl) return 'DATABASE_URL is set';
  if (facts.oidc) return 'OIDC_ISSUER is set';
  if (!isLoopbackHost(facts.host)) return `HOST=${facts.host} is beyond this machine`;
  if (facts.trustProxy.length > 0) return 'TRUST_PROXY is set';
  if (facts.publicUrl.startsWith('https:')) return 'PUBLIC_URL is https';
  return null;
}

function developmentSignInCode(env: Env): string | undefined {
  const code = text(env, 'DEVELOPMENT_SIGN_IN_CODE');
  if (code !== undefined && !/^[A-Za-z0-9_-]{22,128}$/.test(code))
    throw new ConfigError('DEVELOPMENT_SIGN_IN_CODE must be 22 to 128 letters, digits, - or _ (128 bits or more)');
  return code;
}

/** Reads and checks the environment once; the only place that touches process.env. */
export function loadConfig(env: Env = process.env) {
  const jwksUrl = url(env, 'AUTH_JWKS_URL', ['https:', 'http:']);
  const issuer = text(env, 'AUTH_ISSUER');
  const audience = text(env, 'AUTH_AUDIENCE');
  if (jwksUrl && (!issuer || !audience)) {
    throw new ConfigError('AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE to be set as well');
  }
  const jwtSecret = text(env, 'AUTH_JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError('AUTH_JWT_SECRET must be at least 32 characters long');
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const dataDir = path.resolve(text(env, 'DATA_DIR') ?? './data');
  const port = integer(env, 'PORT', 3000, 1, 65535);
  const host = text(env, 'HOST') ?? '127.0.0.1';
  // Links in mail must reach this server: by default the host and port it listens on.
  const linkHost = host === '0.0.0.0' || host === '::' || isLoopbackHost(host) ? 'localhost' : host;
  const defaultPublicUrl = `http://${linkHost.includes(':') ? `[${linkHost}]` : linkHost}:${port}`;

  const oidcIssuer = url(env, 'OIDC_ISSUER', ['https:', 'http:']);
  const oidcClientId = text(env, 'OIDC_CLIENT_ID');
  if (oidcIssuer && !oidcClientId) throw new ConfigError('OIDC_ISSUER needs OIDC_CLIENT_ID to be set as well');
  const signInDomains = (text(env, 'SIGN_IN_EMAIL_DOMAINS') ?? '')
    .split(',')
    .map((domain) => domain.trim().toLowerCase().replace(/^@/, ''))
    .filter(Boolean);
  for (const domain of signInDomains) {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) {
      throw new ConfigError(`SIGN_IN_EMAIL_DOMAINS must be comma-separated domains such as uni.ac.uk, got "${domain}"`);
    }
  }
  const webhookAllowHosts = (text(env, 'WEBHOOK_ALLOW_HOSTS') ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  for (const allowed of webhookAllowHosts) {
    if (!/^[a-z0-9.:[\]-]+$/.test(allowed)) {
      throw new ConfigError(`WEBHOOK_ALLOW_HOSTS must be comma-separated host names or addresses, got "${allowed}"`);
    }
  }
  const calendarAllowHosts = (text(env, 'CALENDAR_ALLOW_HOSTS') ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  for (const allowed of calendarAllowHosts) {
    if (!/^[a-z0-9.:[\]-]+$/.test(allowed)) {
      throw new ConfigError(`CALENDAR_ALLOW_HOSTS must be comma-separated host names or addresses, got "${allowed}"`);
    }
  }
  const calendarSecretKey = text(env, 'CALENDAR_SECRET_KEY');
  if (calendarSecretKey !== undefined && calendarSecretKey.length < 32) {
    throw new ConfigError('CALENDAR_SECRET_KEY must be at least 32 characters long (e.g. openssl rand -base64 32)');
  }
  const trustProxy = (text(env, 'TRUST_PROXY') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:'])?.toString() ?? defaultPublicUrl).replace(/\/$/, '');
  const developmentSignIn = developmentSignInRefusal({
    setting: oneOf(env, 'DEVELOPMENT_SIGN_IN', ['on', 'off'] as const, 'on'),
    databaseUrl,
    oidc: Boolean(oidcIssuer),
    host,
    publicUrl,
    trustProxy,
  });
  const adminAlertEmails = (text(env, 'ADMIN_ALERT_EMAILS') ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
  for (const address of adminAlertEmails) {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) {
      throw new ConfigError(`ADMIN_ALERT_EMAILS must be comma-separated email addresses, got "${address}"`);
    }
  }

  const contactEmail = text(env, 'LIBRARY_CONTACT_EMAIL');
  if (contactEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(contactEmail)) {
    throw new ConfigError(`LIBRARY_CONTACT_EMAIL must be an email address, got "${contactEmail}"`);
  }

  return {
    port,
    host,
    /** Hosts a webhook may use over http:// or at a private address (tests: 127.0.0.1). */
    webhookAllowHosts,
    /** Hosts a calendar address may use over http:// or at a private address (tests: 127.0.0.1). */
    calendarAllowHosts,
    /** The key calendar addresses are sealed with; unset on the embedded default: one generated into DATA_DIR. */
    calendarSecretKey,
    /** Minutes between reads of each librarian's own calendars. */
    calendarSyncMinutes: integer(env, 'CALENDAR_SYNC_MINUTES', 5, 1, 1440),
    /** Hours the last good busy time stands while a calendar cannot be read; then the librarian's times are withheld. */
    calendarStaleHours: integer(env, 'CALENDAR_STALE_HOURS', 24, 1, 720),
    /** Seconds one calendar's files may take to read (in a worker thread) before it is "too complex". */
    calendarParseSeconds: integer(env, 'CALENDAR_PARSE_SECONDS', 20, 1, 300),
    /** Who hears when a webhook endpoint is disabled after failing for three days. */
    adminAlertEmails,
    databaseUrl: databaseUrl?.toString(),
    /**
     * The load balancers whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated), so
     * per-address limits see the client, not the balancer. Unset: none.
     */
    trustProxy,
    /** Shared rate-limit counters for several processes; unset: counters in this process. */
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'])?.toString(),
    /** After SIGTERM: how long in-flight requests may take before the process exits anyway. */
    shutdownGraceSeconds: integer(env, 'SHUTDOWN_GRACE_SECONDS', 10, 0, 600),
    /**
     * After SIGTERM: how long to go on taking requests while readiness answers 503, so that a load
     * balancer has taken the process out before it stops listening. 0 (the default): stop at once.
     */
    shutdownDrainSeconds: integer(env, 'SHUTDOWN_DRAIN_SECONDS', 0, 0, 60),
    dataDir,
    auth: {
      jwtSecret,
      jwks: jwksUrl && issuer && audience ? { url: jwksUrl.toString(), issuer, audience } : undefined,
      /** Tokens whose expiry lies further ahead than this are refused, whatever signed them. */
      maxTokenHours: integer(env, 'AUTH_MAX_TOKEN_HOURS', 24 * 7, 1, 24 * 366),
    },
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:'])?.toString(),
    mailFrom: text(env, 'MAIL_FROM') ?? 'Library appointments <no-reply@localhost>',
    /** Where people write to the library (accessibility statement, privacy notice); unset: the help desk, unnamed. */
    contactEmail,
    /** A bearer token /metrics asks for (from anywhere); unset: /metrics answers loopback only. */
    metricsToken: text(env, 'METRICS_TOKEN'),
    /** A loopback listener of its own that serves GET /metrics without a token; unset: none. */
    metricsPort: text(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 1, 65535),
    publicUrl,
    libraryTimeZone: timeZone(env, 'LIBRARY_TIME_ZONE', 'Europe/London'),
    worker: oneOf(env, 'WORKER', ['on', 'off'] as const, 'on') === 'on',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    academicYearStartMonth: integer(env, 'ACADEMIC_YEAR_START_MONTH', 8, 1, 12),
    retentionMonths: integer(env, 'RETENTION_MONTHS', 24, 1, 1200),
    staffRecordMonths: integer(env, 'STAFF_RECORD_MONTHS', 24, 1, 1200),
    /** Campaign invitations the outbox starts per minute, at most. */
    campaignEmailsPerMinute: integer(env, 'CAMPAIGN_EMAILS_PER_MINUTE', 600, 1, 100000),
    /** How long a freed time is held for the waiting student it is offered to. */
    waitlistHoldMinutes: integer(env, 'WAITLIST_HOLD_MINUTES', 30, 1, 1440),
    reminderHours: integer(env, 'REMINDER_HOURS', 24, 0, 336),
    /** Hours after a session recorded as attended to ask how it went; 0 turns feedback off. */
    feedbackDelayHours: integer(env, 'FEEDBACK_DELAY_HOURS', 2, 0, 336),
    bookingLimitPerStudent: integer(env, 'BOOKING_LIMIT_PER_STUDENT', 3, 1, 100),
    /** Emails one booking's changes may cause per hour (cancellations always go). */
    emailsPerBookingPerHour: integer(env, 'EMAILS_PER_BOOKING_PER_HOUR', 30, 1, 10000),
    web: {
      /** The institution's OpenID provider for browser sign-in (authorization code with PKCE). */
      oidc: oidcIssuer
        ? {
            issuer: oidcIssuer.toString(),
            clientId: oidcClientId as string,
            clientSecret: text(env, 'OIDC_CLIENT_SECRET'),
            roleClaim: text(env, 'OIDC_ROLE_CLAIM') ?? 'roles',
            defaultRole: oneOf(env, 'OIDC_DEFAULT_ROLE', ['student', 'none'] as const, 'student'),
          }
        : undefined,
      /** Who may ask for an emailed sign-in link (empty: nobody, the form is not shown). */
      signInEmailDomains: signInDomains,
      /**
       * The development sign-in form (anyone may sign in as anyone): only on a developer's own
       * machine. `developmentSignInRefused` says why it is off, for the start-up banner.
       */
      developmentSignIn: developmentSignIn === null,
      developmentSignInRefused: developmentSignIn,
      /**
       * The secret in the development sign-in address (npm start prints it, as notebook servers
       * do): only a browser that opened that address may use the form, whatever its headers say.
       * Unset: a random one at each start (main.ts); a test or a scripted demo may fix it.
       */
      developmentSignInCode: developmentSignInCode(env),
      sessionHours: integer(env, 'SESSION_HOURS', 12, 1, 24 * 30),
    },
    database: {
      /** How long to wait for a new connection, or for a free one from the pool. */
      connectTimeoutSeconds: integer(env, 'DATABASE_CONNECT_TIMEOUT_SECONDS', 5, 1, 600),
      /** PostgreSQL's statement_timeout; the process gives up on an answer 2 s after it. */
      statementTimeoutSeconds: integer(env, 'DATABASE_STATEMENT_TIMEOUT_SECONDS', 30, 1, 3600),
      /** PostgreSQL's idle_in_transaction_session_timeout. */
      idleInTransactionTimeoutSeconds: integer(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS', 30, 1, 3600),
      /** TCP keepalive on database connections: first probe after this many idle seconds. */
      keepAliveSeconds: integer(env, 'DATABASE_KEEPALIVE_SECONDS', 10, 1, 3600),
      /** /health/live fails once requests have waited this long for a connection with none freed. */
      stuckSeconds: integer(env, 'DATABASE_STUCK_SECONDS', 60, 2, 3600),
    },
    http: {
      /** Largest JSON body an authenticated route reads (bytes); routes may set a smaller one. */
      bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
      /** Largest body a route open to anyone reads (bytes). */
      publicBodyLimitBytes: integer(env, 'PUBLIC_BODY_LIMIT_BYTES', 16 * 1024, 1024, 1024 * 1024),
      /** A request's headers must arrive within this many seconds of the connection opening. */
      headersTimeoutSeconds: integer(env, 'HEADERS_TIMEOUT_SECONDS', 10, 1, 600),
      /** A whole request (headers and body) must arrive within this many seconds. */
      requestTimeoutSeconds: integer(env, 'REQUEST_TIMEOUT_SECONDS', 30, 1, 3600),
      /** An idle kept-alive connection is closed after this many seconds. */
      keepAliveTimeoutSeconds: integer(env, 'KEEP_ALIVE_TIMEOUT_SECONDS', 5, 1, 600),
      /** Open connections this process accepts at once; more are closed as they arrive. */
      maxConnections: integer(env, 'MAX_CONNECTIONS', 2000, 10, 1_000_000),
      /** Open connections one address may hold (0: no cap); not applied behind TRUST_PROXY, where the proxy must. */
      maxConnectionsPerAddress: integer(env, 'MAX_CONNECTIONS_PER_ADDRESS', 100, 0, 1_000_000),
    },
    rateLimit: {
      bookingWritesPerMinute: integer(env, 'RATE_LIMIT_BOOKING_WRITES_PER_MINUTE', 10, 1, 100000),
      publicReadsPerMinute: integer(env, 'RATE_LIMIT_PUBLIC_READS_PER_MINUTE', 300, 1, 1000000),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;
