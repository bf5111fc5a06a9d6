import { createHash } from 'node:crypto';
import { and, asc, count, eq, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database, Executor } from '../../db/client.js';
import { calendarBusyBlocks, calendarConnections, calendarEventCopies, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import type { Translate } from '../../text/i18n.js';
import type { Clock } from '../../time/clock.js';
import { newMessageId, queueMessages } from '../notifications/queue.js';
import { changedFields, recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { publishEvent } from '../webhooks/publish.js';
import type { BusyBlock } from './busy-time.js';
import type { CaldavAccount } from './caldav.js';
import { type CalendarError, CalendarReadError, calendarUrlProblem, normaliseCalendarUrl } from './fetch.js';
import { createBusyTimeReader } from './parse.js';
import type { SecretBox } from './secrets.js';
import {
  type CaldavSettings,
  type CalendarKind,
  type ConnectionSecret,
  firstCaldavSettings,
  readSource,
  type SourceRead,
  type Window,
} from './sources.js';
import { createWriteBack } from './write-back.js';

type ConnectionRow = typeof calendarConnections.$inferSelect;

/** A librarian keeps at most this many calendars connected. */
export const MAX_CONNECTIONS_PER_LIBRARIAN = 5;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A read holds its connection this long; a crashed worker's connection is read again after it. */
const CLAIM_MS = 2 * MINUTE;
/** After a failure, the next read comes sooner than the usual interval, at most this far apart. */
const RETRY_MS = 5 * MINUTE;

export type CalendarState = 'ok' | 'failing' | 'withheld';

/** What a connection's view adds to its row. */
interface Facts {
  busyBlocks: number;
  writesWaiting: number;
  writeError: CalendarError | null;
}

/** A new connection: a calendar address (kind ics, the default), or a CalDAV account. */
export interface ConnectionInput {
  kind?: CalendarKind | undefined;
  label: string;
  url?: string | undefined;
  serverUrl?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** A change: the label, a new address or account details, and (CalDAV) which calendars count and which gets bookings. */
export interface ConnectionPatch extends Partial<Omit<ConnectionInput, 'kind'>> {
  busyCalendars?: string[] | undefined;
  bookingsCalendar?: string | null | undefined;
}

/** The parts of the configuration calendar connections read. */
export type CalendarConfig = Pick<
  Config,
  | 'calendarAllowHosts'
  | 'calendarSyncMinutes'
  | 'calendarStaleHours'
  | 'calendarParseSeconds'
  | 'publicUrl'
  | 'databaseUrl'
>;

/** What the staff record keeps of a CalDAV connection's choices: calendar names, never addresses. */
function choicesOf(settings: unknown) {
  const caldav = settings as Partial<CaldavSettings> | undefined;
  if (!caldav?.calendars) return {};
  const name = (url: string | null | undefined) =>
    caldav.calendars?.find((calendar) => calendar.url === url)?.name ?? null;
  return { busyCalendars: (caldav.busy ?? []).map(name), bookingsCalendar: name(caldav.writeTo) };
}

/** The blocks' digest: a read that finds the same busy time changes nothing (the slot lists stay cached). */
function digestOf(blocks: BusyBlock[]): string {
  return createHash('sha256').update(JSON.stringify(blocks)).digest('base64url');
}

/**
 * A librarian's own calendars: connecting one (its address kept sealed), reading each for busy
 * time (by the worker, and at once when saved or asked), and saying plainly when one cannot be read.
 */
export function createCalendarConnections(deps: {
  db: Database;
  clock: Clock;
  config: CalendarConfig;
  /** Seals addresses; absent when the server has no CALENDAR_SECRET_KEY (then nothing is stored). */
  secrets: SecretBox | undefined;
  /** The words of the events written into librarians' calendars (English: the librarian reads them). */
  translate: Translate;
}) {
  const { db, clock, config } = deps;
  const staleMs = config.calendarStaleHours * 60 * MINUTE;
  const messageIdDomain = new URL(config.publicUrl).hostname;
  const busyTime = createBusyTimeReader({ timeLimitMs: config.calendarParseSeconds * 1000 });
  const writeBack = createWriteBack({ db, translator: deps.translate, allowHosts: config.calendarAllowHosts });

  function stateOf(row: ConnectionRow, nowMs: number): CalendarState {
    if (!row.lastError) return 'ok';
    const lastGood = row.lastSuccessAt?.getTime() ?? row.createdAt.getTime();
    return nowMs - lastGood >= staleMs ? 'withheld' : 'failing';
  }

  function view(row: ConnectionRow, { busyBlocks, writesWaiting, writeError }: Facts) {
    return {
      id: row.id,
      librarianId: row.librarianId,
      kind: row.kind,
      label: row.label,
      host: row.host,
      secretSetAt: row.secretSetAt.toISOString(),
      state: stateOf(row, clock.now().getTime()),
      lastReadAt: row.lastSuccessAt?.toISOString() ?? null,
      lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
      error: row.lastError as CalendarError | null,
      failingSince: row.failingSince?.toISOString() ?? null,
      busyBlocks,
      writesWaiting,
      writeError,
      nextReadAt: row.nextSyncAt.toISOString(),
      calendars:
        row.kind === 'caldav'
          ? ((row.settings as CaldavSettings).calendars ?? []).map((calendar) => ({
              url: calendar.url,
              name: calendar.name,
              busy: (row.settings as CaldavSettings).busy.includes(calendar.url),
              receivesBookings: (row.settings as CaldavSettings).writeTo === calendar.url,
            }))
          : [],
    };
  }
  type ConnectionView = ReturnType<typeof view>;

  /** The librarian's zone and address, which reading their calendar needs. */
  async function librarianOf(executor: Executor, librarianId: string) {
    const [librarian] = await executor
      .select({
        id: librarians.id,
        email: librarians.email,
        timeZone: librarians.timeZone,
        horizonDays: librarians.horizonDays,
      })
      .from(librarians)
      .where(eq(librarians.id, librarianId));
    if (!librarian) throw new NotFound(`Librarian ${librarianId}`);
    return librarian;
  }

  /** The window busy time is read over: the librarian's horizon, a day either side. */
  function windowOf(librarian: Awaited<ReturnType<typeof librarianOf>>): Window {
    const nowMs = clock.now().getTime();
    return {
      fromMs: nowMs - DAY,
      toMs: nowMs + (librarian.horizonDays + 1) * DAY,
      timeZone: librarian.timeZone,
      ownAddresses: [librarian.email],
    };
  }

  function secretOf(row: ConnectionRow): ConnectionSecret {
    return JSON.parse(sealer().open(row.secret)) as ConnectionSecret;
  }

  async function writeBlocks(executor: Executor, row: Pick<ConnectionRow, 'id' | 'librarianId'>, blocks: BusyBlock[]) {
    await executor.delete(calendarBusyBlocks).where(eq(calendarBusyBlocks.connectionId, row.id));
    for (let index = 0; index < blocks.length; index += 5000) {
      await executor.insert(calendarBusyBlocks).values(
        blocks.slice(index, index + 5000).map((block) => ({
          connectionId: row.id,
          librarianId: row.librarianId,
          startsAt: new Date(block.startMs),
          endsAt: new Date(block.endMs),
        })),
      );
    }
  }

  function sealer(): SecretBox {
    if (!deps.secrets) {
      throw new Conflict(
        'calendar_secret_key_missing',
        'This server has no CALENDAR_SECRET_KEY, so it cannot keep a calendar address safely. An administrator must set it.',
      );
    }
    return deps.secrets;
  }

  /**
   * A new calendar, checked and read once before anything is saved: a field error names what is
   * wrong (the address, or the account's server, user name or password).
   */
  async function firstRead(
    kind: CalendarKind,
    secret: ConnectionSecret,
    librarian: Awaited<ReturnType<typeof librarianOf>>,
    settings: CaldavSettings | Record<string, never> = {},
  ) {
    const field = kind === 'caldav' ? '/serverUrl' : '/url';
    const address = 'url' in secret ? secret.url : secret.serverUrl;
    const problem = await calendarUrlProblem(address, config.calendarAllowHosts);
    if (problem) {
      throw new RuleViolation('calendar_address', `The calendar address ${problem}.`, [
        { pointer: field, in: 'body', message: problem },
      ]);
    }
    try {
      const chosen =
        kind === 'caldav' && !('calendars' in settings)
          ? await firstCaldavSettings(secret as CaldavAccount, config.calendarAllowHosts)
          : settings;
      const first = await readSource(
        kind,
        secret,
        chosen,
        {},
        windowOf(librarian),
        config.calendarAllowHosts,
        busyTime.read,
      );
      return { blocks: first.blocks ?? [], syncState: first.syncState, settings: chosen };
    } catch (error) {
      if (!(error instanceof CalendarReadError)) throw error;
      const pointer = kind === 'caldav' && error.code === 'refused' ? '/password' : field;
      throw new RuleViolation('calendar_unreadable', `The calendar could not be read (${error.code}).`, [
        { pointer, in: 'body', message: `could not be read: ${error.code}` },
      ]);
    }
  }

  /** The secret a new connection seals, from its input; a missing field is named. */
  function secretFrom(kind: CalendarKind, input: Partial<ConnectionInput>): ConnectionSecret {
    const missing = (pointer: string) =>
      new RuleViolation('validation_failed', `${pointer.slice(1)} is needed for this kind of calendar.`, [
        { pointer, in: 'body', message: 'is required' },
      ]);
    if (kind === 'ics') {
      if (!input.url) throw missing('/url');
      return { url: normaliseCalendarUrl(input.url) };
    }
    if (!input.serverUrl) throw missing('/serverUrl');
    if (!input.username) throw missing('/username');
    if (!input.password) throw missing('/password');
    return { serverUrl: normaliseCalendarUrl(input.serverUrl), username: input.username, password: input.password };
  }

  const hostOf = (secret: ConnectionSecret) => new URL('url' in secret ? secret.url : secret.serverUrl).hostname;

  /** For each connection: the busy blocks it holds, and the bookings waiting to be written into it after a failed write. */
  async function counts(ids: string[]): Promise<Map<string, Facts>> {
    if (ids.length === 0) return new Map();
    const blocks = await db
      .select({ id: calendarBusyBlocks.connectionId, blocks: count() })
      .from(calendarBusyBlocks)
      .where(inArray(calendarBusyBlocks.connectionId, ids))
      .groupBy(calendarBusyBlocks.connectionId);
    const waiting = await db
      .select({
        id: calendarEventCopies.connectionId,
        waiting: count(),
        error: sql<string>`min(${calendarEventCopies.lastError})`,
      })
      .from(calendarEventCopies)
      .where(and(inArray(calendarEventCopies.connectionId, ids), isNotNull(calendarEventCopies.lastError)))
      .groupBy(calendarEventCopies.connectionId);
    return new Map(
      ids.map((id) => {
        const writes = waiting.find((row) => row.id === id);
        return [
          id,
          {
            busyBlocks: blocks.find((row) => row.id === id)?.blocks ?? 0,
            writesWaiting: writes?.waiting ?? 0,
            writeError: (writes?.error as CalendarError | undefined) ?? null,
          },
        ];
      }),
    );
  }
  const NO_FACTS: Facts = { busyBlocks: 0, writesWaiting: 0, writeError: null };

  async function find(librarianId: string, id: string): Promise<ConnectionRow> {
    const [row] = await db
      .select()
      .from(calendarConnections)
      .where(and(eq(calendarConnections.id, id), eq(calendarConnections.librarianId, librarianId)));
    if (!row) throw new NotFound(`Calendar connection ${id}`);
    return row;
  }

  async function get(librarianId: string, id: string): Promise<ConnectionView> {
    const row = await find(librarianId, id);
    return view(row, (await counts([row.id])).get(row.id) ?? NO_FACTS);
  }

  /** One read of one connection, held against other workers: busy time replaced when it changed, the state recorded. */
  async function sync(row: ConnectionRow): Promise<void> {
    const now = clock.now();
    const librarian = await librarianOf(db, row.librarianId);
    const interval = config.calendarSyncMinutes * MINUTE;
    // Jitter spreads many librarians' reads over the interval instead of all at once.
    const jitter = Math.floor(Math.random() * Math.min(interval / 5, MINUTE));
    let outcome: SourceRead | { error: CalendarError };
    try {
      outcome = await readSource(
        row.kind,
        secretOf(row),
        row.settings,
        row.syncState as Record<string, unknown>,
        windowOf(librarian),
        config.calendarAllowHosts,
        busyTime.read,
      );
    } catch (error) {
      if (error instanceof CalendarReadError) outcome = { error: error.code };
      else if (error instanceof Conflict) outcome = { error: 'refused' };
      else throw error;
    }
    await transaction(db, async (tx) => {
      if ('error' in outcome) {
        const told = row.failureNotifiedAt !== null;
        await tx
          .update(calendarConnections)
          .set({
            lastAttemptAt: now,
            lastError: outcome.error,
            failingSince: row.failingSince ?? now,
            failureNotifiedAt: row.failureNotifiedAt ?? now,
            nextSyncAt: new Date(now.getTime() + Math.min(interval, RETRY_MS) + jitter),
            lockedUntil: null,
            updatedAt: now,
          })
          .where(eq(calendarConnections.id, row.id));
        if (!told) {
          // Once per failure spell: the librarian by email, other systems by webhook.
          await writeTogether(tx, {
            alert: queueMessages(tx, [
              {
                kind: 'calendar_failed',
                recipientRole: 'librarian',
                recipientEmail: librarian.email,
                sendAfter: now,
                createdAt: now,
                messageId: newMessageId(messageIdDomain),
                payload: { connectionId: row.id, label: row.label, error: outcome.error, librarianId: row.librarianId },
              },
            ]),
          });
          await publishEvent(tx, 'calendar.sync_failed', now, {
            librarianId: row.librarianId,
            connectionId: row.id,
            error: outcome.error,
          });
        }
        return;
      }
      const blocks = outcome.blocks;
      const digest = blocks ? digestOf(blocks) : row.busyDigest;
      if (blocks && digest !== row.busyDigest) await writeBlocks(tx, row, blocks);
      await tx
        .update(calendarConnections)
        .set({
          lastAttemptAt: now,
          lastSuccessAt: now,
          lastError: null,
          failingSince: null,
          failureNotifiedAt: null,
          busyDigest: digest,
          syncState: outcome.syncState,
          nextSyncAt: new Date(now.getTime() + interval + jitter),
          lockedUntil: null,
          updatedAt: now,
        })
        .where(eq(calendarConnections.id, row.id));
      if (row.failureNotifiedAt) {
        await writeTogether(tx, {
          alert: queueMessages(tx, [
            {
              kind: 'calendar_recovered',
              recipientRole: 'librarian',
              recipientEmail: librarian.email,
              sendAfter: now,
              createdAt: now,
              messageId: newMessageId(messageIdDomain),
              payload: { connectionId: row.id, label: row.label, librarianId: row.librarianId },
            },
          ]),
        });
        await publishEvent(tx, 'calendar.sync_recovered', now, {
          librarianId: row.librarianId,
          connectionId: row.id,
        });
      }
    });
  }

  /** Claims connections due a read (FOR UPDATE SKIP LOCKED: each is read by one process). */
  async function claimDue(limit: number, only?: string, writers = false): Promise<ConnectionRow[]> {
    const now = clock.now();
    return transaction(db, async (tx) => {
      const due = await tx
        .select()
        .from(calendarConnections)
        .where(
          and(
            only
              ? eq(calendarConnections.id, only)
              : writers
                ? sql`${calendarConnections.kind} = 'caldav' and ${calendarConnections.settings}->>'writeTo' is not null`
                : lte(calendarConnections.nextSyncAt, now),
            or(isNull(calendarConnections.lockedUntil), lt(calendarConnections.lockedUntil, now)),
          ),
        )
        .orderBy(asc(calendarConnections.nextSyncAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(calendarConnections)
        .set({ lockedUntil: new Date(now.getTime() + CLAIM_MS) })
        .where(
          inArray(
            calendarConnections.id,
            due.map((row) => row.id),
          ),
        );
      return due;
    });
  }

  return {
    stateOf,

    async list(librarianId: string): Promise<ConnectionView[]> {
      await librarianOf(db, librarianId);
      const rows = await db
        .select()
        .from(calendarConnections)
        .where(eq(calendarConnections.librarianId, librarianId))
        .orderBy(asc(calendarConnections.createdAt));
      const blocks = await counts(rows.map((row) => row.id));
      return rows.map((row) => view(row, blocks.get(row.id) ?? NO_FACTS));
    },

    get,

    /** Every librarian's connections with their state, for the admin list. */
    async listAll() {
      const rows = await db
        .select({ connection: calendarConnections, librarian: { name: librarians.name, email: librarians.email } })
        .from(calendarConnections)
        .innerJoin(librarians, eq(librarians.id, calendarConnections.librarianId))
        .orderBy(asc(librarians.name), asc(calendarConnections.createdAt));
      const blocks = await counts(rows.map((row) => row.connection.id));
      return rows.map((row) => ({
        ...view(row.connection, blocks.get(row.connection.id) ?? NO_FACTS),
        librarian: row.librarian,
      }));
    },

    /** Whether a librarian's times are withheld because one of their calendars has not been read for too long. */
    async isWithheld(librarianId: string): Promise<boolean> {
      const rows = await db.select().from(calendarConnections).where(eq(calendarConnections.librarianId, librarianId));
      const nowMs = clock.now().getTime();
      return rows.some((row) => stateOf(row, nowMs) === 'withheld');
    },

    async create(actor: StaffActor, librarianId: string, input: ConnectionInput): Promise<ConnectionView> {
      const box = sealer();
      const librarian = await librarianOf(db, librarianId);
      const [existing] = await db
        .select({ n: count() })
        .from(calendarConnections)
        .where(eq(calendarConnections.librarianId, librarianId));
      if ((existing?.n ?? 0) >= MAX_CONNECTIONS_PER_LIBRARIAN) {
        throw new RuleViolation(
          'too_many_calendars',
          `A librarian connects at most ${MAX_CONNECTIONS_PER_LIBRARIAN} calendars; remove one first.`,
        );
      }
      const kind = input.kind ?? 'ics';
      const secret = secretFrom(kind, input);
      const first = await firstRead(kind, secret, librarian);
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [inserted] = await tx
          .insert(calendarConnections)
          .values({
            librarianId,
            kind,
            label: input.label.trim(),
            secret: box.seal(JSON.stringify(secret)),
            secretSetAt: now,
            host: hostOf(secret),
            settings: first.settings,
            syncState: first.syncState,
            busyDigest: digestOf(first.blocks),
            lastAttemptAt: now,
            lastSuccessAt: now,
            nextSyncAt: new Date(now.getTime() + config.calendarSyncMinutes * MINUTE),
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        const saved = inserted as ConnectionRow;
        await writeBlocks(tx, saved, first.blocks);
        await recordStaffAction(tx, now, {
          actor,
          action: 'calendar.connected',
          subject: librarianId,
          after: { connection: saved.id, kind: saved.kind, label: saved.label, host: saved.host },
        });
        return saved;
      });
      return view(row, { ...NO_FACTS, busyBlocks: first.blocks.length });
    },

    /**
     * A new label; a new address or account details (read once first, as when connecting); for
     * CalDAV, which calendars count as busy and which receives bookings (read again at once).
     */
    async change(actor: StaffActor, librarianId: string, id: string, input: ConnectionPatch): Promise<ConnectionView> {
      const row = await find(librarianId, id);
      const now = clock.now();
      const librarian = await librarianOf(db, librarianId);
      const kind = row.kind as CalendarKind;
      const newSecret =
        input.url !== undefined ||
        input.serverUrl !== undefined ||
        input.username !== undefined ||
        input.password !== undefined
          ? secretFrom(kind, { ...(secretOf(row) as Partial<ConnectionInput>), ...input })
          : undefined;
      let settings = row.settings as CaldavSettings | Record<string, never>;
      if (kind === 'caldav' && (input.busyCalendars !== undefined || input.bookingsCalendar !== undefined)) {
        const known = new Set((settings as CaldavSettings).calendars.map((calendar) => calendar.url));
        const unknown = [
          ...(input.busyCalendars ?? []),
          ...(input.bookingsCalendar ? [input.bookingsCalendar] : []),
        ].find((url) => !known.has(url));
        if (unknown !== undefined) {
          const pointer = input.busyCalendars?.includes(unknown) ? '/busyCalendars' : '/bookingsCalendar';
          throw new RuleViolation('unknown_calendar', 'That calendar is not one of this account’s.', [
            { pointer, in: 'body', message: 'is not one of the account’s calendars' },
          ]);
        }
        settings = {
          ...(settings as CaldavSettings),
          ...(input.busyCalendars !== undefined ? { busy: input.busyCalendars } : {}),
          ...(input.bookingsCalendar !== undefined ? { writeTo: input.bookingsCalendar } : {}),
        };
      } else if (input.busyCalendars !== undefined || input.bookingsCalendar !== undefined) {
        throw new RuleViolation('not_caldav', 'Only a CalDAV account has calendars to choose.', [
          {
            pointer: input.busyCalendars !== undefined ? '/busyCalendars' : '/bookingsCalendar',
            in: 'body',
            message: 'applies to CalDAV accounts only',
          },
        ]);
      }
      const reread = newSecret !== undefined || settings !== row.settings;
      const first = reread
        ? await firstRead(kind, newSecret ?? secretOf(row), librarian, newSecret && kind === 'caldav' ? {} : settings)
        : undefined;
      const changed = await transaction(db, async (tx) => {
        const [updated] = await tx
          .update(calendarConnections)
          .set({
            ...(input.label !== undefined ? { label: input.label.trim() } : {}),
            ...(newSecret
              ? { secret: sealer().seal(JSON.stringify(newSecret)), secretSetAt: now, host: hostOf(newSecret) }
              : {}),
            ...(first
              ? {
                  settings: first.settings,
                  syncState: first.syncState,
                  busyDigest: digestOf(first.blocks),
                  lastAttemptAt: now,
                  lastSuccessAt: now,
                  lastError: null,
                  failingSince: null,
                  failureNotifiedAt: null,
                }
              : {}),
            updatedAt: now,
          })
          .where(eq(calendarConnections.id, id))
          .returning();
        if (first) await writeBlocks(tx, row, first.blocks);
        const before = { label: row.label, host: row.host, ...choicesOf(row.settings) };
        const after = { label: updated?.label, host: updated?.host, ...choicesOf(updated?.settings) };
        await recordStaffAction(tx, now, {
          actor,
          action: 'calendar.changed',
          subject: librarianId,
          ...changedFields(before, after),
          ...(newSecret ? { after: { ...changedFields(before, after).after, secret: 'replaced' } } : {}),
        });
        return updated as ConnectionRow;
      });
      const facts = (await counts([id])).get(id) ?? NO_FACTS;
      return view(changed, first ? { ...facts, busyBlocks: first.blocks.length } : facts);
    },

    /** Removes the connection, its sealed address and its busy time. */
    async remove(actor: StaffActor, librarianId: string, id: string): Promise<void> {
      const row = await find(librarianId, id);
      await transaction(db, async (tx) => {
        await tx.delete(calendarConnections).where(eq(calendarConnections.id, id));
        await recordStaffAction(tx, clock.now(), {
          actor,
          action: 'calendar.removed',
          subject: librarianId,
          before: { connection: id, kind: row.kind, label: row.label, host: row.host },
        });
      });
    },

    /** Reads the connection now ("Check now"), unless a worker is reading it this moment. */
    async checkNow(librarianId: string, id: string): Promise<ConnectionView> {
      await find(librarianId, id);
      const [claimed] = await claimDue(1, id);
      if (claimed) await sync(claimed);
      return get(librarianId, id);
    },

    /**
     * Writes bookings into the calendars that receive them (the worker's tick): each connection
     * claimed by one process, its lock released after.
     */
    async writeDue(limit = 20): Promise<{ written: number; deleted: number; failed: number }> {
      const total = { written: 0, deleted: 0, failed: 0 };
      const claimed = await claimDue(limit, undefined, true);
      for (const row of claimed) {
        try {
          const settings = row.settings as CaldavSettings;
          if (!settings.writeTo) continue;
          const done = await writeBack.reconcile(row, secretOf(row) as CaldavAccount, settings.writeTo, clock.now());
          total.written += done.written;
          total.deleted += done.deleted;
          total.failed += done.failed;
        } finally {
          await db.update(calendarConnections).set({ lockedUntil: null }).where(eq(calendarConnections.id, row.id));
        }
      }
      return total;
    },

    /** Reads every connection that is due (the worker's tick). */
    async syncDue(limit = 20): Promise<number> {
      const due = await claimDue(limit);
      // A few at once: one slow server (10 s at most) does not hold up the rest.
      for (let index = 0; index < due.length; index += 8) await Promise.all(due.slice(index, index + 8).map(sync));
      return due.length;
    },
  };
}

export type CalendarConnections = ReturnType<typeof createCalendarConnections>;
