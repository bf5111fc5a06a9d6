import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import { availabilityOverrides, availabilityRules, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { NotFound } from '../../errors.js';
import { checkInput } from '../../http/check-input.js';
import type { Clock } from '../../time/clock.js';
import {
  addDays,
  formatCivilDate,
  formatInstant,
  instantFormatter,
  isCanonicalTimeZone,
  parseCivilDate,
  TIME_ZONE_HINT,
} from '../../time/zone.js';
import type { LibrarianService } from '../librarians/service.js';
import { changedFields, recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { badField } from './fields.js';
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
import { createSlotLists, type ListBody } from './slot-cache.js';
import { type BusyRangeSource, createSlotInputs } from './slot-inputs.js';
import type { Mode } from './slots.js';

export type { ListBody } from './slot-cache.js';
export type { BusyRangeSource, QueryValue } from './slot-inputs.js';

type LibrarianRow = typeof librarians.$inferSelect;
type OverrideRow = typeof availabilityOverrides.$inferSelect;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

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
  config: Pick<Config, 'libraryTimeZone' | 'calendarStaleHours'>;
  librarians: LibrarianService;
  busyRanges: readonly BusyRangeSource[];
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

  const { loadSlotInputs, preparedSlotInputs, loadSlotListing, loadSlotListings, listingsWhere } = createSlotInputs({
    db,
    clock,
    busyRanges: deps.busyRanges,
    calendarStaleHours: deps.config.calendarStaleHours,
  });
  const { currentSlots, currentSlotsMany, currentSlotsWhere } = createSlotLists({
    clock,
    loadSlotListing,
    loadSlotListings,
  });

  return {
    loadSlotInputs,
    preparedSlotInputs,
    /** A prepared read of the librarians a condition picks, with what their slots need (a pool's). */
    listingsWhere,
    /** The slots of the librarians such a read picks, as the cache keeps them, each with the row's extra columns. */
    rawSlotsWhere: currentSlotsWhere,

    async get(librarianId: string): Promise<Availability> {
      return readAvailability(await deps.librarians.findRow(librarianId));
    },

    /** Replaces a librarian's weekly hours and settings; written in the staff record as `actor`'s. */
    async put(librarianId: string, input: PutAvailability, actor: StaffActor): Promise<Availability> {
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
        const now = clock.now();
        const [current] = await tx.select().from(librarians).where(eq(librarians.id, librarianId)).for('update');
        if (!current) throw new NotFound(`Librarian ${librarianId}`);
        const before = await readAvailability(current, tx);
        const [row] = await tx
          .update(librarians)
          .set({ ...settings, updatedAt: now })
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
        const after = await readAvailability(row, tx);
        const change = changedFields({ ...before }, { ...after });
        if (Object.keys(change.after).length > 0) {
          await recordStaffAction(tx, now, { actor, action: 'availability.changed', subject: row.email, ...change });
        }
        return after;
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

    /** Time off or extra hours for a librarian, or (librarianId null) a library closure; recorded. */
    async createOverride(
      librarianId: string | null,
      input: CreateOverride | CreateClosure,
      actor: StaffActor,
    ): Promise<Override> {
      checkInput(librarianId ? CreateOverride : CreateClosure, input);
      const librarian = librarianId ? await deps.librarians.findRow(librarianId) : null;
      const zone = librarian?.timeZone ?? config.libraryTimeZone;
      const now = clock.now();
      return transaction(db, async (tx) => {
        const [row] = await tx
          .insert(availabilityOverrides)
          .values({
            librarianId,
            kind: 'kind' in input ? input.kind : 'closed',
            ...overrideRange(input),
            reason: input.reason ?? null,
            createdBy: actor.email ?? actor.sub,
            createdAt: now,
          })
          .returning();
        const override = toOverride(row as OverrideRow, zone);
        await recordStaffAction(tx, now, {
          actor,
          action: librarian ? 'time_off.added' : 'closure.added',
          subject: librarian?.email ?? null,
          after: override,
        });
        return override;
      });
    },

    /** Removes an override (librarianId null: a closure); recorded with what it was. */
    async deleteOverride(librarianId: string | null, overrideId: string, actor: StaffActor): Promise<void> {
      const librarian = librarianId ? await deps.librarians.findRow(librarianId) : null;
      const zone = librarian?.timeZone ?? config.libraryTimeZone;
      const now = clock.now();
      await transaction(db, async (tx) => {
        const [deleted] = await tx
          .delete(availabilityOverrides)
          .where(
            and(
              eq(availabilityOverrides.id, overrideId),
              librarianId
                ? eq(availabilityOverrides.librarianId, librarianId)
                : isNull(availabilityOverrides.librarianId),
            ),
          )
          .returning();
        if (!deleted) throw new NotFound(librarianId ? `Override ${overrideId}` : `Closure ${overrideId}`);
        await recordStaffAction(tx, now, {
          actor,
          action: librarian ? 'time_off.removed' : 'closure.removed',
          subject: librarian?.email ?? null,
          before: toOverride(deleted, zone),
        });
      });
    },

    /** Several librarians' slots as the cache keeps them, read in one statement (a pool's times); null for one inactive. */
    async rawSlotsMany(librarianIds: string[], query: SlotQuery) {
      return currentSlotsMany(librarianIds, query);
    },

    /** The slots as the cache keeps them (instants, not text), with the zone they were asked in: for merging. */
    async rawSlots(librarianId: string, query: SlotQuery) {
      return currentSlots(librarianId, query);
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

    /** The same list as JSON bytes (for the API), reused across requests while nothing changes. */
    async slotListJson(librarianId: string, query: SlotQuery): Promise<ListBody> {
      return (await currentSlots(librarianId, query)).body();
    },
  };
}

export type AvailabilityService = ReturnType<typeof createAvailabilityService>;
