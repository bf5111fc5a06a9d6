import { createHash } from 'node:crypto';
import { and, asc, count, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database, Executor } from '../../db/client.js';
import { calendarBusyBlocks, calendarConnections, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import { newMessageId, queueMessages } from '../notifications/queue.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { type BusyBlock, busyTimeOf, CalendarFormatError } from './busy-time.js';
import {
  type CachedRead,
  type CalendarError,
  CalendarReadError,
  calendarUrlProblem,
  fetchCalendar,
  normaliseCalendarUrl,
} from './fetch.js';
import type { SecretBox } from './secrets.js';

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

export interface ConnectionInput {
  label: string;
  url: string;
}

/** The parts of the configuration calendar connections read. */
export type CalendarConfig = Pick<
  Config,
  'calendarAllowHosts' | 'calendarSyncMinutes' | 'calendarStaleHours' | 'publicUrl' | 'databaseUrl'
>;

/** Webhooks that asked for a calendar event get one, at the change feed's next position; ids only. */
async function publishCalendarEvent(
  executor: Executor,
  type: 'calendar.sync_failed' | 'calendar.sync_recovered',
  now: Date,
  data: Record<string, unknown>,
) {
  const payload = JSON.stringify({ type, timestamp: now.toISOString(), data });
  await executor.execute(sql`insert into webhook_deliveries (id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
    select 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, p.id, ${type}, ${payload}::jsonb, ${now}, ${now}
    from webhook_endpoints e, (select nextval(pg_get_serial_sequence('booking_events', 'id')) as id) p
    where e.enabled and ${type} = any(e.events)`);
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
}) {
  const { db, clock, config } = deps;
  const staleMs = config.calendarStaleHours * 60 * MINUTE;
  const messageIdDomain = new URL(config.publicUrl).hostname;

  function stateOf(row: ConnectionRow, nowMs: number): CalendarState {
    if (!row.lastError) return 'ok';
    const lastGood = row.lastSuccessAt?.getTime() ?? row.createdAt.getTime();
    return nowMs - lastGood >= staleMs ? 'withheld' : 'failing';
  }

  function view(row: ConnectionRow, busyBlocks: number) {
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
      nextReadAt: row.nextSyncAt.toISOString(),
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

  /** Reads a calendar address into busy blocks over the librarian's horizon (a day either side). */
  async function read(
    address: string,
    cached: CachedRead,
    librarian: Awaited<ReturnType<typeof librarianOf>>,
  ): Promise<{ blocks: BusyBlock[]; cache: CachedRead } | { blocks: null; cache: CachedRead }> {
    const fetched = await fetchCalendar(address, cached, config.calendarAllowHosts);
    if (!fetched.changed) return { blocks: null, cache: cached };
    const nowMs = clock.now().getTime();
    try {
      const blocks = busyTimeOf(fetched.text, {
        fromMs: nowMs - DAY,
        toMs: nowMs + (librarian.horizonDays + 1) * DAY,
        timeZone: librarian.timeZone,
        ownAddresses: [librarian.email],
      });
      return { blocks, cache: { etag: fetched.etag, lastModified: fetched.lastModified } };
    } catch (error) {
      if (error instanceof CalendarFormatError) throw new CalendarReadError('malformed', error.message);
      throw error;
    }
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

  /** A new address, checked and read once before anything is saved: a field error names what is wrong. */
  async function firstRead(url: string, librarian: Awaited<ReturnType<typeof librarianOf>>) {
    const problem = await calendarUrlProblem(url, config.calendarAllowHosts);
    if (problem)
      throw new RuleViolation('calendar_address', `The calendar address ${problem}.`, [
        { pointer: '/url', in: 'body', message: problem },
      ]);
    try {
      const first = await read(url, {}, librarian);
      return { blocks: first.blocks ?? [], cache: first.cache };
    } catch (error) {
      if (!(error instanceof CalendarReadError)) throw error;
      throw new RuleViolation('calendar_unreadable', `The calendar address could not be read (${error.code}).`, [
        { pointer: '/url', in: 'body', message: `could not be read: ${error.code}` },
      ]);
    }
  }

  async function counts(ids: string[]) {
    if (ids.length === 0) return new Map<string, number>();
    const rows = await db
      .select({ id: calendarBusyBlocks.connectionId, blocks: count() })
      .from(calendarBusyBlocks)
      .where(inArray(calendarBusyBlocks.connectionId, ids))
      .groupBy(calendarBusyBlocks.connectionId);
    return new Map(rows.map((row) => [row.id, row.blocks]));
  }

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
    return view(row, (await counts([row.id])).get(row.id) ?? 0);
  }

  /** One read of one connection, held against other workers: busy time replaced when it changed, the state recorded. */
  async function sync(row: ConnectionRow): Promise<void> {
    const now = clock.now();
    const librarian = await librarianOf(db, row.librarianId);
    const interval = config.calendarSyncMinutes * MINUTE;
    // Jitter spreads many librarians' reads over the interval instead of all at once.
    const jitter = Math.floor(Math.random() * Math.min(interval / 5, MINUTE));
    let outcome: { blocks: BusyBlock[] | null; cache: CachedRead } | { error: CalendarError };
    try {
      const address = sealer().open(row.secret);
      outcome = await read(address, row.syncState as CachedRead, librarian);
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
          await publishCalendarEvent(tx, 'calendar.sync_failed', now, {
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
          syncState: outcome.cache,
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
        await publishCalendarEvent(tx, 'calendar.sync_recovered', now, {
          librarianId: row.librarianId,
          connectionId: row.id,
        });
      }
    });
  }

  /** Claims connections due a read (FOR UPDATE SKIP LOCKED: each is read by one process). */
  async function claimDue(limit: number, only?: string): Promise<ConnectionRow[]> {
    const now = clock.now();
    return transaction(db, async (tx) => {
      const due = await tx
        .select()
        .from(calendarConnections)
        .where(
          and(
            only ? eq(calendarConnections.id, only) : lte(calendarConnections.nextSyncAt, now),
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
      return rows.map((row) => view(row, blocks.get(row.id) ?? 0));
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
        ...view(row.connection, blocks.get(row.connection.id) ?? 0),
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
      const url = normaliseCalendarUrl(input.url);
      const first = await firstRead(input.url, librarian);
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [inserted] = await tx
          .insert(calendarConnections)
          .values({
            librarianId,
            kind: 'ics',
            label: input.label.trim(),
            secret: box.seal(url),
            secretSetAt: now,
            host: new URL(url).hostname,
            syncState: first.cache,
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
      return view(row, first.blocks.length);
    },

    /** A new label, or a new address (read once first, as when connecting). */
    async change(
      actor: StaffActor,
      librarianId: string,
      id: string,
      input: Partial<ConnectionInput>,
    ): Promise<ConnectionView> {
      const row = await find(librarianId, id);
      const now = clock.now();
      const librarian = await librarianOf(db, librarianId);
      const first = input.url !== undefined ? await firstRead(input.url, librarian) : undefined;
      const url = input.url !== undefined ? normaliseCalendarUrl(input.url) : undefined;
      const changed = await transaction(db, async (tx) => {
        const [updated] = await tx
          .update(calendarConnections)
          .set({
            ...(input.label !== undefined ? { label: input.label.trim() } : {}),
            ...(url && first
              ? {
                  secret: sealer().seal(url),
                  secretSetAt: now,
                  host: new URL(url).hostname,
                  syncState: first.cache,
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
        await recordStaffAction(tx, now, {
          actor,
          action: 'calendar.changed',
          subject: librarianId,
          before: { connection: id, label: row.label, host: row.host },
          after: {
            connection: id,
            label: updated?.label,
            host: updated?.host,
            ...(url ? { address: 'replaced' } : {}),
          },
        });
        return updated as ConnectionRow;
      });
      return view(changed, first ? first.blocks.length : ((await counts([id])).get(id) ?? 0));
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
