import { createHash } from 'node:crypto';
import { asc, eq, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { freshReads } from '../../db/fresh-reads.js';
import { retryingStalePlans, statementName } from '../../db/prepared.js';
import { availabilityOverrides, availabilityRules, librarians } from '../../db/schema.js';
import { builtOnce } from '../../db/transaction.js';
import type { Clock } from '../../time/clock.js';
import type { AvailabilityOverride, Mode, SlotRequest, WeeklyRule } from './slots.js';

type LibrarianRow = typeof librarians.$inferSelect;

/** A value for a query: given now, or a placeholder filled when a prepared query runs. */
export type QueryValue<T> = T | Placeholder;

/**
 * Busy time of a librarian from one source (their bookings, their own calendars), as a scalar SQL
 * expression: comma-separated `[startMs,endMs]` pairs, or null for none. Each source is read in
 * the one statement with the rules; the pairs of all of them make the busy list.
 */
export type BusyRangeSource = (range: {
  librarianId: QueryValue<string>;
  /** Time held before this and after `heldAfter`. */
  startsBefore: QueryValue<Date>;
  heldAfter: QueryValue<Date>;
  /** A calendar last read before this is too old to trust (CALENDAR_STALE_HOURS ago). */
  calendarReadAfter: QueryValue<Date>;
  /** Now: a waitlist offer's hold counts until it expires. */
  holdsAt: QueryValue<Date>;
  excludeBookingId?: string | undefined;
}) => SQL<string | null>;

/** What the slot-inputs statement is given: the librarian and the reach of overrides and bookings. */
export interface SlotInputsParams {
  librarianId: QueryValue<string>;
  /** Overrides and closures touching these dates (YYYY-MM-DD), inclusive. */
  overridesFrom: QueryValue<string>;
  overridesTo: QueryValue<string>;
  busyStartsBefore: QueryValue<Date>;
  busyHeldAfter: QueryValue<Date>;
  calendarReadAfter: QueryValue<Date>;
  holdsAt: QueryValue<Date>;
}

/** The outer librarian's id in a correlated subquery (drizzle leaves columns unqualified in one-table selects). */
const LIBRARIAN_ID = sql`${librarians}.${sql.identifier('id')}`;

/** A day either side of a range in UTC covers the same local days in any zone (offsets stay under 14 h). */
const ZONE_MARGIN_MS = 24 * 60 * 60_000;

interface OverrideJson {
  kind: 'closed' | 'open';
  fromDate: string | null;
  toDate: string | null;
  startMs: number | null;
  endMs: number | null;
}

/**
 * The statements that read what slots need: one statement per decision (a booking's, prepared per
 * connection) and one per listing (shared by concurrent requests, never older than the request).
 */
export function createSlotInputs(deps: {
  db: Database;
  clock: Clock;
  busyRanges: readonly BusyRangeSource[];
  calendarStaleHours: number;
}) {
  const { db, clock } = deps;
  const calendarStaleMs = deps.calendarStaleHours * 60 * 60_000;

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
      busy: sql<[number, number][]>`('[' || concat_ws(',', ${sql.join(
        deps.busyRanges.map(
          (source) =>
            sql`nullif(${source({
              librarianId: p.librarianId,
              startsBefore: p.busyStartsBefore,
              heldAfter: p.busyHeldAfter,
              calendarReadAfter: p.calendarReadAfter,
              holdsAt: p.holdsAt,
              excludeBookingId,
            })}, '')`,
        ),
        sql`, `,
      )}) || ']')::json`,
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
      calendarReadAfter: new Date(clock.now().getTime() - calendarStaleMs),
      holdsAt: clock.now(),
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
    calendarReadAfter: sql.placeholder('calendarReadAfter'),
    holdsAt: sql.placeholder('holdsAt'),
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
    return row ? listingOf(row) : undefined;
  }

  function listingOf(row: { librarian: unknown; rules: string; overrides: string; busy: string }) {
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
   * A listing read for the librarians `where` picks (a pool: a subject's, a team's), in the order
   * `orderBy` gives, with `extra` columns: one statement, prepared once per connection, which
   * chooses the librarians and reads everything their slots need in the same snapshot. `where`
   * and `extra` name their values with placeholders, given on each call. Concurrent calls with the
   * same values and range share a read, never one begun before they asked.
   */
  function listingsWhere<X extends Record<string, SQL>>(name: string, where: SQL, orderBy: SQL, extra: X) {
    const prepare = () => {
      const { librarian, rules, overrides, busy } = slotInputColumns({
        ...placeholders,
        librarianId: LIBRARIAN_ID as unknown as string,
      });
      return db
        .select({
          ...extra,
          librarian,
          rules: sql<string>`(${rules})::text`,
          overrides: sql<string>`(${overrides})::text`,
          busy: sql<string>`(${busy})::text`,
        })
        .from(librarians)
        .where(where)
        .orderBy(orderBy)
        .prepare(statementName(name));
    };
    let prepared: { name: string; query: ReturnType<typeof prepare> } | undefined;
    type Extra = { [K in keyof X]: X[K] extends SQL<infer T> ? T : never };
    const reads = freshReads<{ listing: SlotListing; extra: Extra }[]>();
    return (values: Record<string, unknown>, fromMs: number, toMs: number) =>
      reads(`${JSON.stringify(values)} ${fromMs} ${toMs}`, async () => {
        const rows = await retryingStalePlans(() => {
          if (prepared?.name !== statementName(name)) prepared = { name: statementName(name), query: prepare() };
          return prepared.query.execute({ ...slotInputsReach('', fromMs, toMs), ...values });
        });
        return rows.map((row) => ({ listing: listingOf(row), extra: row as unknown as Extra }));
      });
  }

  /** Several active librarians' listings at once (a waitlist round's), by id; an inactive or unknown one is left out. */
  const listingsByIds = listingsWhere(
    'liaison_slot_listings',
    sql`${librarians.active} and ${librarians.id} = any(${sql.placeholder('librarianIds')}::uuid[])`,
    asc(librarians.id),
    {},
  );
  function loadSlotListings(librarianIds: string[], fromMs: number, toMs: number) {
    return listingsByIds({ librarianIds }, fromMs, toMs);
  }

  return { loadSlotInputs, preparedSlotInputs, loadSlotListing, loadSlotListings, listingsWhere };
}

export type SlotInputs = ReturnType<typeof createSlotInputs>;
/** What a listing read found for one librarian: the row, a digest of everything read, and the inputs parsed on demand. */
export type SlotListing = NonNullable<Awaited<ReturnType<SlotInputs['loadSlotListing']>>>;
