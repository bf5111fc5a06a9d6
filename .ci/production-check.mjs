// Starts the production install in this folder (npm ci --omit=dev, then npm run build) as an
// operator would, and makes one booking through its API; fails when anything the server needs at
// run time is missing. Run by .ci/run in a clean copy. Plain Node.js: it may use only
// "dependencies". Every request goes to 127.0.0.1, each bounded in time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';

const secret = randomBytes(32).toString('hex');
const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-production-'));
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['dist/main.js'], {
  env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, AUTH_JWT_SECRET: secret, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let exited = null;
server.on('exit', (code, signal) => {
  exited = { code, signal };
});

function fail(message) {
  console.error(`production install: ${message}`);
  if (exited === null) server.kill('SIGKILL');
  process.exit(1);
}

const token = (roles, email) =>
  new SignJWT({ email, name: email.split('@')[0], roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`sub:${email}`)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

async function call(method, url, bearer, body) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null, text };
}

// Ready within five minutes (a slow machine migrates the embedded database slowly), or its exit says why.
const deadline = Date.now() + 300_000;
for (;;) {
  if (exited !== null) fail(`the server exited before it was ready (${JSON.stringify(exited)})`);
  if (Date.now() > deadline) fail('the server was not ready within five minutes');
  const ready = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  if (ready?.status === 200) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}

const admin = await token(['admin'], 'admin@production.example');
const librarian = await call('POST', '/api/v1/librarians', admin, {
  email: 'ada@production.example',
  name: 'Ada Lovelace',
  modes: ['online'],
  meetingUrl: 'https://meet.production.example/ada',
});
if (librarian.status !== 201) fail(`creating a librarian: ${librarian.status} ${librarian.text}`);
const week = await call('PUT', `/api/v1/librarians/${librarian.json.id}/availability`, admin, {
  timeZone: 'Europe/London',
  slotMinutes: 60,
  weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:00' })),
});
if (week.status !== 200) fail(`setting hours: ${week.status} ${week.text}`);
const from = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const slots = await call('GET', `/api/v1/librarians/${librarian.json.id}/slots?from=${from}&to=${from}`, admin);
const start = slots.json?.slots?.[0]?.start;
if (!start) fail(`no slot offered: ${slots.status} ${slots.text}`);
const student = await token(['student'], 'sam@production.example');
const booking = await call('POST', '/api/v1/bookings', student, {
  librarianId: librarian.json.id,
  start,
  topic: 'Finding sources',
  companion: { name: 'Kim', email: 'kim@production.example' },
});
if (booking.status !== 201) fail(`booking: ${booking.status} ${booking.text}`);

// A calendar file is read in the built worker thread (dist/…/busy-time-worker.js).
const { createBusyTimeReader } = await import(path.resolve('dist/modules/calendars/parse.js'));
const reader = createBusyTimeReader({ timeLimitMs: 60_000 });
const calendar = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'BEGIN:VEVENT',
  'UID:one@production.example',
  'DTSTART:20270301T090000Z',
  'DTEND:20270301T100000Z',
  'END:VEVENT',
  'END:VCALENDAR',
].join('\r\n');
const blocks = await reader.read([calendar], {
  fromMs: Date.parse('2027-03-01T00:00:00Z'),
  toMs: Date.parse('2027-03-02T00:00:00Z'),
  timeZone: 'Europe/London',
  ownAddresses: [],
});
await reader.close();
if (JSON.stringify(blocks) !== JSON.stringify([{ startMs: Date.parse('2027-03-01T09:00:00Z'), endMs: Date.parse('2027-03-01T10:00:00Z') }]))
  fail(`the calendar worker read ${JSON.stringify(blocks)}`);

server.kill('SIGTERM');
const stopDeadline = Date.now() + 60_000;
while (exited === null && Date.now() < stopDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
if (exited?.code !== 0) fail(`the server did not stop cleanly on SIGTERM (${JSON.stringify(exited)})`);
console.log(`production install: started, booked ${booking.json.id} with a friend, read a calendar in its worker, stopped`);
