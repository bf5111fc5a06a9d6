import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { and, asc, eq, isNull, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import { freshReads } from '../../db/fresh-reads.js';
import { retryingStalePlans, statementName } from '../../db/prepared.js';
import { availabilityOverrides, availabilityRules, librarians } from '../../db/schema.js';
import { builtOnce, transaction } from '../../db/transaction.js';
import { InvalidInput, NotFound } from '../../errors.js';
import { checkInput } from '../../http/check-input.js';
import type { Clock } from '../../time/clock.js';
import {
  addDays,
  civilDateAt,
  formatCivilDate,
  formatInstant,
  instantFormatter,
  isCanonicalTimeZone,
  localDaysToInstants,
  parseCivilDate,
  startOfCivilDate,
  TIME_ZONE_HINT,
} from '../../time/zone.js';
import type { LibrarianService } from '../librarians/service.js';
import {
  type Availability,
  CreateClosure,
  CreateOverride,
  type Override,
  type OverrideQuery,
  PutAvailability,
  type SlotList,
  type SlotQuery,
} from './schemas.js';
import {
  type AvailabilityOverride,
  computeSlots,
  type Mode,
  type Slot,
  type SlotRequest,
  startBounds,
  type WeeklyRule,
} from './slots.js';

type LibrarianRow = typeof librarians.$inferSelect;
type OverrideRow = typeof availabilityOverrides.$inferSelect;

const MAX_SLOT_RANGE_DAYS = 62;
/** Slot lists kept (a two-month list is ~80 KB of text): enough for the librarians students are looking at. */
const SLOT_CACHE_ENTRIES = 100;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A value for a query: given now, or a placeholder filled when a prepared query runs. */
export type QueryValue<T> = T | Placeholder;

/**
 * Busy time of a librarian from bookings, supplied by the bookings feature as a scalar subquery
 * (a json array of [startMs, endMs] pairs): bookings starting before `startsBefore` and holding
 * time after `heldAfter`, so slots are read in one statement with the rules.
 */
export type BusyRangeSource = (
  librarianId: QueryValue<string>,
  startsBefore: QueryValue<Date>,
  heldAfter: QueryValue<Date>,
  excludeBookingId?: string,
) => SQL<[number, number][]>;

/** What the slot-inputs statement is given: the librarian and the reach of overrides and bookings. */
interface SlotInputsParams {
  librarianId: QueryValue<string>;
  /** Overrides and closures touching these dates (YYYY-MM-DD), inclusive. */
  overridesFrom: QueryValue<string>;
  overridesTo: QueryValue<string>;
  busyStartsBefore: QueryValue<Date>;
  busyHeldAfter: QueryValue<Date>;
}

/** The outer librarian's id in a correlated subquery (drizzle leaves columns unqualified in one-table selects). */
const LIBRARIAN_ID = sql`${librarians}.${sql.identifier('id')}`;

/** A slot list kept across requests: slots for whole days, their JSON text, and the last body sent. */
interface CachedSlots {
  slots: Slot[];
  json: string[];
  body?: { first: number; end: number; bytes: ListBody };
}

/** A slot list as JSON bytes, and the same gzipped (made on first use). */
export interface ListBody {
  json: Buffer;
  gzip(): Buffer;
}

/** A day either side of a range in UTC covers the same local days in any zone (offsets stay under 14 h). */
const ZONE_MARGIN_MS = 24 * 60 * 60_000;

interface OverrideJson {
  kind: 'closed' | 'open';
  fromDate: string | null;
  toDate: string | null;
  startMs: number | null;
  endMs: number | null;
}

function badField(pointer: string, message: string, where: 'body' | 'query' = 'body'): InvalidInput {
  return new InvalidInput(`${pointer.slice(1)} ${message}.`, [{ pointer, in: where, message }]);
}

/** Dates or instants, both the same kind, in order. */
function overrideRange(input: { from: string; to: string }) {
  const fromIsDate = DATE_ONLY.test(input.from);
  if (fromIsDate !== DATE_ONLY.test(input.to)) {
    throw badField('/to', 'must be the same kind as from: both dates or both instants');
  }
  if (fromIsDate) {
    if (input.to < input.from) throw badField('/to', 'must be on or after from');
    return { fromDate: input.from, toDate: input.to, startsAt: null, endsAt: null };
  }
  const startsAt = new Date(input.from);
  const endsAt = new Date(input.to);
  if (endsAt <= startsAt) throw badField('/to', 'must be after from');
  return { fromDate: null, toDate: null, startsAt, endsAt };
}

function toOverride(row: OverrideRow, zone: string): Override {
  const allDay = row.fromDate !== null;
  return {
    id: row.id,
    librarianId: row.librarianId,
    kind: row.kind,
    allDay,
    from: allDay ? (row.fromDate as string) : formatInstant((row.startsAt as Date).getTime(), zone),
    to: allDay ? (row.toDate as string) : formatInstant((row.endsAt as Date).getTime(), zone),
    reason: row.reason,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Overrides overlapping [fromDate, toDate] (dates compared loosely: a day either side covers any zone). */
function overlapsDates(query: OverrideQuery) {
  const from = query.from ? formatCivilDate(addDays(parseCivilDate(query.from), -1)) : undefined;
  const to = query.to ? formatCivilDate(addDays(parseCivilDate(query.to), 1)) : undefined;
  return and(
    from
      ? or(sql`${availabilityOverrides.toDate} >= ${from}::date`, sql`${availabilityOverrides.endsAt} >= ${from}::date`)
      : undefined,
    to
      ? or(sql`${availabilityOverrides.fromDate} <= ${to}::date`, sql`${availabilityOverrides.startsAt} <= ${to}::date`)
      : undefined,
  );
}

export function createAvailabilityService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone'>;
  librarians: LibrarianService;
  busyRanges: BusyRangeSource;
}) {
  const { db, clock, config } = deps;

  async function readAvailability(row: LibrarianRow, executor: Executor = db): Promise<Availability> {
    const rules = await executor
      .select()
      .from(availabilityRules)
      .where(eq(availabilityRules.librarianId, row.id))
      .orderBy(asc(availabilityRules.weekday), asc(availabilityRules.startTime));
    return {
      librarianId: row.id,
      timeZone: row.timeZone,
      slotMinutes: row.slotMinutes,
      bufferMinutes: row.bufferMinutes,
      minNoticeMinutes: row.minNoticeMinutes,
      horizonDays: row.horizonDays,
      maxCompanions: row.maxCompanions,
      weekly: rules.map((rule) => ({
        weekday: rule.weekday,
        start: rule.startTime.slice(0, 5),
        end: rule.endTime.slice(0, 5),
        ...(rule.validFrom ? { validFrom: rule.validFrom } : {}),
        ...(rule.validTo ? { validTo: rule.validTo } : {}),
        ...(rule.mode ? { mode: rule.mode as Mode } : {}),
        ...(rule.location ? { location: rule.location } : {}),
      })),
    };
  }

  /** The one statement that reads a librarian with everything slots need, and any extra columns. */
  function slotInputsSelect<X extends Record<string, SQL>>(
    executor: Executor,
    p: SlotInputsParams,
    options: { excludeBookingId?: string; extra?: X } = {},
  ) {
    return executor
      .select({ ...slotInputColumns(p, options.excludeBookingId), ...(options.extra as X) })
      .from(librarians)
      .where(eq(librarians.id, p.librarianId));
  }

  /** The columns of that statement: the librarian, and rules, overrides and busy time as json. */
  function slotInputColumns(p: SlotInputsParams, excludeBookingId?: string) {
    const rules = sql<WeeklyRule[]>`(
      select coalesce(json_agg(json_strip_nulls(json_build_object(
          'weekday', ${availabilityRules.weekday},
          'start', left(${availabilityRules.startTime}::text, 5),
          'end', left(${availabilityRules.endTime}::text, 5),
          'validFrom', to_char(${availabilityRules.validFrom}, 'YYYY-MM-DD'),
          'validTo', to_char(${availabilityRules.validTo}, 'YYYY-MM-DD'),
          'mode', ${availabilityRules.mode},
          'location', ${availabilityRules.location}))
        order by ${availabilityRules.weekday}, ${availabilityRules.startTime}), '[]'::json)
      from ${availabilityRules} where ${availabilityRules.librarianId} = ${LIBRARIAN_ID})`;
    const overrides = sql<OverrideJson[]>`(
      select coalesce(json_agg(json_build_object(
          'kind', ${availabilityOverrides.kind},
          'fromDate', to_char(${availabilityOverrides.fromDate}, 'YYYY-MM-DD'),
          'toDate', to_char(${availabilityOverrides.toDate}, 'YYYY-MM-DD'),
          'startMs', (extract(epoch from ${availabilityOverrides.startsAt}) * 1000)::bigint,
          'endMs', (extract(epoch from ${availabilityOverrides.endsAt}) * 1000)::bigint)), '[]'::json)
      from ${availabilityOverrides}
      where (${availabilityOverrides.librarianId} = ${LIBRARIAN_ID} or ${availabilityOverrides.librarianId} is null)
        and (${availabilityOverrides.toDate} >= ${p.overridesFrom}::date or ${availabilityOverrides.endsAt} >= ${p.overridesFrom}::date)
        and (${availabilityOverrides.fromDate} <= ${p.overridesTo}::date or ${availabilityOverrides.startsAt} <= ${p.overridesTo}::date))`;
    return {
      librarian: librarians,
      rules,
      overrides,
      busy: deps.busyRanges(p.librarianId, p.busyStartsBefore, p.busyHeldAfter, excludeBookingId),
    };
  }

  /** The reach of one read for slots starting in [fromMs, toMs): a day wider, and busy time a day more. */
  function slotInputsReach(librarianId: string, fromMs: number, toMs: number): SlotInputsParams {
    const wideFrom = fromMs - ZONE_MARGIN_MS;
    const wideTo = toMs + ZONE_MARGIN_MS;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    return {
      librarianId,
      // Dates compared loosely: a day either side covers any zone.
      overridesFrom: day(wideFrom - ZONE_MARGIN_MS),
      overridesTo: day(wideTo + ZONE_MARGIN_MS),
      busyStartsBefore: new Date(wideTo + ZONE_MARGIN_MS),
      busyHeldAfter: new Date(wideFrom - ZONE_MARGIN_MS),
    };
  }

  /**
   * The reach for a caller that asks about starts in [fromMs, toMs) exactly (a booking or a move,
   * whose slot is computed for those bounds alone): rules and overrides as slotInputsReach, busy
   * time only where it could touch such a slot. A slot and its buffer hold at most 12 hours (the
   * librarians table's checks: 480 + 240 minutes), so a day either side covers it, and a busy
   * librarian's read stays short.
   */
  function exactSlotInputsReach(librarianId: string, fromMs: number, toMs: number): SlotInputsParams {
    return {
      ...slotInputsReach(librarianId, fromMs, toMs),
      busyStartsBefore: new Date(toMs + ZONE_MARGIN_MS),
      busyHeldAfter: new Date(fromMs - ZONE_MARGIN_MS),
    };
  }

  /** SlotRequest from what the slot-inputs statement read. */
  function toSlotRequest(
    librarian: LibrarianRow,
    rules: WeeklyRule[],
    overrides: OverrideJson[],
    busy: [number, number][],
    fromMs: number,
    toMs: number,
  ): SlotRequest {
    return {
      timeZone: librarian.timeZone,
      slotMinutes: librarian.slotMinutes,
      bufferMinutes: librarian.bufferMinutes,
      minNoticeMinutes: librarian.minNoticeMinutes,
      horizonDays: librarian.horizonDays,
      defaultModes: librarian.modes as Mode[],
      defaultLocation: librarian.location,
      rules,
      overrides: overrides.map(
        (override): AvailabilityOverride =>
          override.fromDate !== null && override.toDate !== null
            ? { kind: override.kind, fromDate: override.fromDate, toDate: override.toDate }
            : { kind: override.kind, startMs: Number(override.startMs), endMs: Number(override.endMs) },
      ),
      busy: busy.map(([startMs, endMs]) => ({ startMs: Number(startMs), endMs: Number(endMs) })),
      nowMs: clock.now().getTime(),
      fromMs,
      toMs,
    };
  }

  const placeholders: SlotInputsParams = {
    librarianId: sql.placeholder('librarianId'),
    overridesFrom: sql.placeholder('overridesFrom'),
    overridesTo: sql.placeholder('overridesTo'),
    busyStartsBefore: sql.placeholder('busyStartsBefore'),
    busyHeldAfter: sql.placeholder('busyHeldAfter'),
  };

  /**
   * The slot listing's read: prepared once (built, parsed and planned once per connection), with
   * rules, overrides and busy time left as text, so a list already cached for exactly these costs
   * no parsing; `inputs` is what `text` says, parsed, when the list must be computed.
   */
  function prepareListingRead() {
    const { librarian, rules, overrides, busy } = slotInputColumns(placeholders);
    return db
      .select({
        librarian,
        rules: sql<string>`(${rules})::text`,
        overrides: sql<string>`(${overrides})::text`,
        busy: sql<string>`(${busy})::text`,
      })
      .from(librarians)
      .where(eq(librarians.id, placeholders.librarianId))
      .prepare(statementName('liaison_slot_listing'));
  }
  let listingRead: { name: string; query: ReturnType<typeof prepareListingRead> } | undefined;
  const listingReads = freshReads<Awaited<ReturnType<typeof readSlotListing>>>();

  async function readSlotListing(librarianId: string, fromMs: number, toMs: number) {
    const [row] = await retryingStalePlans(() => {
      // Built once per statement name (a stale plan moves the name on: prepared.ts).
      if (listingRead?.name !== statementName('liaison_slot_listing'))
        listingRead = { name: statementName('liaison_slot_listing'), query: prepareListingRead() };
      return listingRead.query.execute({ ...slotInputsReach(librarianId, fromMs, toMs) });
    });
    if (!row) return undefined;
    const librarian = row.librarian as LibrarianRow;
    const text = `${row.rules}\n${row.overrides}\n${row.busy}`;
    return {
      librarian,
      /** Everything this read found, hashed once however many requests share it. */
      digest: createHash('sha256').update(JSON.stringify(librarian)).update(text).digest('base64'),
      inputs: (from: number, to: number) =>
        toSlotRequest(librarian, JSON.parse(row.rules), JSON.parse(row.overrides), JSON.parse(row.busy), from, to),
    };
  }

  /** The slot listing's read, shared by concurrent requests for the same range but never older than the request. */
  function loadSlotListing(librarianId: string, fromMs: number, toMs: number) {
    return listingReads(`${librarianId} ${fromMs} ${toMs}`, () => readSlotListing(librarianId, fromMs, toMs));
  }

  /**
   * Everything computeSlots needs for one librarian near [fromMs, toMs), in one statement: the
   * librarian, weekly rules, overrides and closures, busy time, and any `extra` columns a caller
   * needs for the same decision (they are read in the same snapshot). Undefined when no such
   * librarian exists. For slots starting in [fromMs, toMs) exactly: busy time is read only where
   * it could touch one (exactSlotInputsReach).
   */
  async function loadSlotInputs<X extends Record<string, SQL>>(
    librarianId: string,
    fromMs: number,
    toMs: number,
    options: { executor?: Executor; excludeBookingId?: string; extra?: X } = {},
  ): Promise<
    | {
        librarian: LibrarianRow;
        request: SlotRequest;
        extra: { [K in keyof X]: X[K] extends SQL<infer T> ? T : never };
      }
    | undefined
  > {
    const rows = await slotInputsSelect(
      options.executor ?? db,
      exactSlotInputsReach(librarianId, fromMs, toMs),
      options,
    );
    return slotInputsOf<X>(rows[0], fromMs, toMs);
  }

  function slotInputsOf<X extends Record<string, SQL>>(
    row: Record<string, unknown> | undefined,
    fromMs: number,
    toMs: number,
  ) {
    if (!row) return undefined;
    const librarian = row.librarian as LibrarianRow;
    const request = toSlotRequest(
      librarian,
      row.rules as WeeklyRule[],
      row.overrides as OverrideJson[],
      row.busy as [number, number][],
      fromMs,
      toMs,
    );
    return {
      librarian,
      request,
      extra: row as { [K in keyof X]: X[K] extends SQL<infer T> ? T : never },
    };
  }

  /**
   * loadSlotInputs for a caller that sends it on every request, with the same `extra` columns
   * (written with placeholders, given values on each call): the statement is named `name`, so each
   * connection parses and plans it once. It is built on the caller's executor, so inside a
   * transaction it runs on the transaction's connection. Callers run it within retryingStalePlans.
   */
  function preparedSlotInputs<X extends Record<string, SQL>>(name: string, extra: X) {
    return async (
      executor: Executor,
      librarianId: string,
      fromMs: number,
      toMs: number,
      values: Record<string, unknown>,
    ) => {
      const prepared = builtOnce(executor, name, (on) =>
        slotInputsSelect(on, placeholders, { extra }).prepare(statementName(name)),
      );
      const rows = await prepared.execute({
        ...exactSlotInputsReach(librarianId, fromMs, toMs),
        ...values,
      });
      return slotInputsOf<X>(rows[0] as Record<string, unknown> | undefined, fromMs, toMs);
    };
  }

  /**
   * Slot lists by everything they depend on: what the one query read (librarian, rules,
   * overrides, busy time), the range and zone shown, and the local dates of the first and last
   * possible start. Computed for whole days of starts, then narrowed to notice and horizon per
   * request (computeSlots: exact), so a list is reused until a booking or a rule changes, or the
   * day turns. The least recently used go first.
   */
  const slotCache = new Map<string, CachedSlots>();

  async function currentSlots(librarianId: string, query: SlotQuery) {
    if (query.tz !== undefined && !isCanonicalTimeZone(query.tz)) throw badField('/tz', TIME_ZONE_HINT, 'query');
    if (query.to < query.from) throw badField('/to', 'must be on or after from', 'query');
    const lastAllowed = formatCivilDate(addDays(parseCivilDate(query.from), MAX_SLOT_RANGE_DAYS - 1));
    if (query.to > lastAllowed) {
      throw badField(
        '/to',
        `must be at most ${MAX_SLOT_RANGE_DAYS} days from from (${lastAllowed} at the latest)`,
        'query',
      );
    }
    // The zone may be the librarian's, known only once read: read the days as UTC (the read is a
    // day wider each side), then narrow to the days in the zone.
    const utcDays = localDaysToInstants(query.from, query.to, 'UTC');
    const listing = await loadSlotListing(librarianId, utcDays.fromMs, utcDays.toMs);
    if (!listing?.librarian.active) throw new NotFound(`Librarian ${librarianId}`);
    const { librarian } = listing;
    const zone = query.tz ?? librarian.timeZone;
    if (!isCanonicalTimeZone(zone)) throw badField('/tz', TIME_ZONE_HINT, 'query');
    const { fromMs, toMs } = localDaysToInstants(query.from, query.to, zone);
    const bounds = startBounds({
      fromMs,
      toMs,
      nowMs: clock.now().getTime(),
      minNoticeMinutes: librarian.minNoticeMinutes,
      horizonDays: librarian.horizonDays,
    });
    const found = {
      zone,
      slotMinutes: librarian.slotMinutes,
      slots: [] as Slot[],
      /** The list as the API sends it: JSON bytes (and gzipped), kept while notice and horizon stay put. */
      body: (): ListBody => listBody([]),
    };
    const listBody = (json: string[]): ListBody => {
      const head = JSON.stringify({ librarianId, timeZone: zone, slotMinutes: librarian.slotMinutes }).slice(0, -1);
      const bytes = Buffer.from(`${head},"slots":[${json.join(',')}]}`);
      let gzipped: Buffer | undefined;
      return { json: bytes, gzip: () => (gzipped ??= gzipSync(bytes)) };
    };
    if (bounds.latestStart < bounds.earliestStart) return found;
    const firstDay = civilDateAt(bounds.earliestStart, librarian.timeZone);
    const lastDay = civilDateAt(bounds.latestStart, librarian.timeZone);
    const key = `${listing.digest} ${JSON.stringify([zone, fromMs, toMs, firstDay, lastDay])}`;
    let entry = slotCache.get(key);
    if (entry) {
      slotCache.delete(key);
    } else {
      const slots = computeSlots(listing.inputs(fromMs, toMs), {
        earliestStart: Math.max(fromMs, startOfCivilDate(firstDay, librarian.timeZone)),
        latestStart: Math.min(toMs - 1, startOfCivilDate(addDays(lastDay, 1), librarian.timeZone) - 1),
      });
      const format = instantFormatter(zone);
      const json = slots.map((slot) =>
        JSON.stringify({
          start: format(slot.startMs),
          end: format(slot.endMs),
          modes: slot.modes,
          location: slot.location,
        }),
      );
      entry = { slots, json };
      if (slotCache.size >= SLOT_CACHE_ENTRIES) slotCache.delete(slotCache.keys().next().value as string);
    }
    slotCache.set(key, entry);
    const first = entry.slots.findIndex((slot) => slot.startMs >= bounds.earliestStart);
    if (first < 0) return found;
    let end = first;
    while (end < entry.slots.length && (entry.slots[end] as Slot).startMs <= bounds.latestStart) end++;
    const cached = entry;
    return {
      ...found,
      slots: cached.slots.slice(first, end),
      body() {
        if (cached.body?.first !== first || cached.body.end !== end) {
          cached.body = { first, end, bytes: listBody(cached.json.slice(first, end)) };
        }
        return cached.body.bytes;
      },
    };
  }

  return {
    loadSlotInputs,
    preparedSlotInputs,

    async get(librarianId: string): Promise<Availability> {
      return readAvailability(await deps.librarians.findRow(librarianId));
    },

    async put(librarianId: string, input: PutAvailability): Promise<Availability> {
      checkInput(PutAvailability, input);
      if (input.timeZone !== undefined && !isCanonicalTimeZone(input.timeZone)) {
        throw badField('/timeZone', TIME_ZONE_HINT);
      }
      input.weekly.forEach((rule, index) => {
        if (rule.end <= rule.start) throw badField(`/weekly/${index}/end`, 'must be after start');
        if (rule.validFrom && rule.validTo && rule.validTo < rule.validFrom) {
          throw badField(`/weekly/${index}/validTo`, 'must be on or after validFrom');
        }
      });
      return transaction(db, async (tx) => {
        const { weekly, ...settings } = input;
        const [row] = await tx
          .update(librarians)
          .set({ ...settings, updatedAt: clock.now() })
          .where(eq(librarians.id, librarianId))
          .returning();
        if (!row) throw new NotFound(`Librarian ${librarianId}`);
        await tx.delete(availabilityRules).where(eq(availabilityRules.librarianId, librarianId));
        if (weekly.length > 0) {
          await tx.insert(availabilityRules).values(
            weekly.map((rule) => ({
              librarianId,
              weekday: rule.weekday,
              startTime: rule.start,
              endTime: rule.end,
              validFrom: rule.validFrom ?? null,
              validTo: rule.validTo ?? null,
              mode: rule.mode ?? null,
              location: rule.location ?? null,
            })),
          );
        }
        return readAvailability(row, tx);
      });
    },

    /** A librarian's overrides, with the library-wide closures that also apply to them. */
    async listOverrides(librarianId: string | null, query: OverrideQuery): Promise<Override[]> {
      const zone = librarianId ? (await deps.librarians.findRow(librarianId)).timeZone : config.libraryTimeZone;
      const rows = await db
        .select()
        .from(availabilityOverrides)
        .where(
          and(
            librarianId
              ? or(eq(availabilityOverrides.librarianId, librarianId), isNull(availabilityOverrides.librarianId))
              : isNull(availabilityOverrides.librarianId),
            overlapsDates(query),
          ),
        )
        .orderBy(
          sql`coalesce(${availabilityOverrides.startsAt}, ${availabilityOverrides.fromDate}::timestamptz)`,
          asc(availabilityOverrides.id),
        );
      return rows.map((row) => toOverride(row, zone));
    },

    async createOverride(
      librarianId: string | null,
      input: CreateOverride | CreateClosure,
      actor: string,
    ): Promise<Override> {
      checkInput(librarianId ? CreateOverride : CreateClosure, input);
      const zone = librarianId ? (await deps.librarians.findRow(librarianId)).timeZone : config.libraryTimeZone;
      const [row] = await db
        .insert(availabilityOverrides)
        .values({
          librarianId,
          kind: 'kind' in input ? input.kind : 'closed',
          ...overrideRange(input),
          reason: input.reason ?? null,
          createdBy: actor,
          createdAt: clock.now(),
        })
        .returning();
      return toOverride(row as OverrideRow, zone);
    },

    async deleteOverride(librarianId: string | null, overrideId: string): Promise<void> {
      const deleted = await db
        .delete(availabilityOverrides)
        .where(
          and(
            eq(availabilityOverrides.id, overrideId),
            librarianId
              ? eq(availabilityOverrides.librarianId, librarianId)
              : isNull(availabilityOverrides.librarianId),
          ),
        )
        .returning({ id: availabilityOverrides.id });
      if (deleted.length === 0) throw new NotFound(librarianId ? `Override ${overrideId}` : `Closure ${overrideId}`);
    },

    /** The slots as objects (for pages). */
    async listSlots(librarianId: string, query: SlotQuery): Promise<SlotList> {
      const found = await currentSlots(librarianId, query);
      const format = instantFormatter(found.zone);
      return {
        librarianId,
        timeZone: found.zone,
        slotMinutes: found.slotMinutes,
        slots: found.slots.map((slot) => ({
          start: format(slot.startMs),
          end: format(slot.endMs),
          modes: slot.modes,
          location: slot.location,
        })),
      };
    },

    /** The same list as JSON text (for the API): built from slots and text cached across requests. */
    /** The same list as JSON bytes (for the API), reused across requests while nothing changes. */
    async slotListJson(librarianId: string, query: SlotQuery): Promise<ListBody> {
      return (await currentSlots(librarianId, query)).body();
    },
  };
}

export type AvailabilityService = ReturnType<typeof createAvailabilityService>;
