import { NotFound } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import {
  addDays,
  civilDateAt,
  formatCivilDate,
  instantFormatter,
  isCanonicalTimeZone,
  localDaysToInstants,
  parseCivilDate,
  startOfCivilDate,
  TIME_ZONE_HINT,
} from '../../time/zone.js';
import { badField } from './fields.js';
import type { SlotQuery } from './schemas.js';
import type { SlotInputs, SlotListing } from './slot-inputs.js';
import { computeSlots, type Slot, startBounds } from './slots.js';

const MAX_SLOT_RANGE_DAYS = 62;
/** Slot lists kept (a two-month list is ~80 KB of text): enough for the librarians students are looking at. */
const SLOT_CACHE_ENTRIES = 100;

/** A slot list kept across requests: slots for whole days, their JSON text, and the last body sent. */
interface CachedSlots {
  slots: Slot[];
  json: string[];
  body?: { first: number; end: number; bytes: ListBody };
}

/** A slot list as the API sends it, JSON bytes; the same object while the list is unchanged. */
export interface ListBody {
  json: Buffer;
}

/** Slot lists for a librarian and range, computed from the listing read and reused across requests. */
export function createSlotLists(deps: {
  clock: Clock;
  loadSlotListing: SlotInputs['loadSlotListing'];
  loadSlotListings: SlotInputs['loadSlotListings'];
}) {
  const { clock, loadSlotListing } = deps;

  /**
   * Slot lists by everything they depend on: what the one query read (librarian, rules,
   * overrides, busy time), the range and zone shown, and the local dates of the first and last
   * possible start. Computed for whole days of starts, then narrowed to notice and horizon per
   * request (computeSlots: exact), so a list is reused until a booking or a rule changes, or the
   * day turns. The least recently used go first.
   */
  const slotCache = new Map<string, CachedSlots>();
  /** A number per kept list, so a caller can tell that two answers are the same list (version). */
  const listIds = new WeakMap<CachedSlots, number>();
  let nextListId = 1;

  /** The query checked: a known zone, a range in order and at most MAX_SLOT_RANGE_DAYS long. */
  function checkQuery(query: SlotQuery) {
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
    return localDaysToInstants(query.from, query.to, 'UTC');
  }

  async function currentSlots(librarianId: string, query: SlotQuery) {
    const utcDays = checkQuery(query);
    const listing = await loadSlotListing(librarianId, utcDays.fromMs, utcDays.toMs);
    return slotsOf(librarianId, query, listing);
  }

  /** Several librarians (their rows) and their slots from one read (a waitlist round's), in the order given; null for one inactive or unknown. */
  async function currentSlotsMany(librarianIds: string[], query: SlotQuery) {
    const rows = await currentSlotsWhere((fromMs, toMs) => deps.loadSlotListings(librarianIds, fromMs, toMs), query);
    const byId = new Map(rows.map((row) => [row.librarian.id, row]));
    return librarianIds.map((librarianId) => byId.get(librarianId) ?? null);
  }

  /**
   * The slots of the librarians a selection's read picks (a pool's, from listingsWhere), in its
   * order, each with the row's extra columns. The selection reads active librarians only.
   */
  async function currentSlotsWhere<E>(
    read: (fromMs: number, toMs: number) => Promise<{ listing: SlotListing; extra: E }[]>,
    query: SlotQuery,
  ) {
    const utcDays = checkQuery(query);
    const rows = await read(utcDays.fromMs, utcDays.toMs);
    return rows.map(({ listing, extra }) => ({
      librarian: listing.librarian,
      extra,
      answer: slotsOf(listing.librarian.id, query, listing),
    }));
  }

  function slotsOf(librarianId: string, query: SlotQuery, listing: Awaited<ReturnType<typeof loadSlotListing>>) {
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
    const head = { librarianId, zone, slotMinutes: librarian.slotMinutes };
    if (bounds.latestStart < bounds.earliestStart) return new SlotAnswer(head, 'none', null, 0, 0);
    const firstDay = civilDateAt(bounds.earliestStart, librarian.timeZone);
    const lastDay = civilDateAt(bounds.latestStart, librarian.timeZone);
    const key = `${listing.digest} ${zone} ${fromMs} ${toMs} ${formatCivilDate(firstDay)} ${formatCivilDate(lastDay)}`;
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
    // The kept list is in start order: its first start at or after the earliest, and the first past the latest.
    const first = firstStartFrom(entry.slots, bounds.earliestStart);
    const end = firstStartFrom(entry.slots, bounds.latestStart + 1);
    if (first >= end) return new SlotAnswer(head, 'none', null, 0, 0);
    let listId = listIds.get(entry);
    if (listId === undefined) {
      listId = nextListId++;
      listIds.set(entry, listId);
    }
    return new SlotAnswer(head, `${listId}:${first}:${end}`, entry, first, end);
  }

  return { currentSlots, currentSlotsMany, currentSlotsWhere };
}

/** The index of the first slot starting at or after `startMs` (slots in start order), or their count. */
function firstStartFrom(slots: Slot[], startMs: number): number {
  let low = 0;
  let high = slots.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((slots[middle] as Slot).startMs < startMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** One answer from the slot cache: slots `first`..`end` of a kept list, narrowed to notice and horizon. */
class SlotAnswer {
  #slots: Slot[] | undefined;

  constructor(
    private readonly head: { librarianId: string; zone: string; slotMinutes: number },
    /** Names this exact answer: the same while the list and its bounds are unchanged. */
    readonly version: string,
    private readonly kept: CachedSlots | null,
    private readonly first: number,
    private readonly end: number,
  ) {}

  get zone() {
    return this.head.zone;
  }

  get slotMinutes() {
    return this.head.slotMinutes;
  }

  /** Copied only when read: a pool whose merged list is unchanged needs the version alone. */
  get slots(): Slot[] {
    this.#slots ??= this.kept ? this.kept.slots.slice(this.first, this.end) : [];
    return this.#slots;
  }

  /** The list as the API sends it: JSON bytes, kept while notice and horizon stay put. */
  body(): ListBody {
    const { kept, first, end } = this;
    if (!kept) return this.bytes([]);
    if (kept.body?.first !== first || kept.body.end !== end) {
      kept.body = { first, end, bytes: this.bytes(kept.json.slice(first, end)) };
    }
    return kept.body.bytes;
  }

  private bytes(json: string[]): ListBody {
    const { librarianId, zone, slotMinutes } = this.head;
    const head = JSON.stringify({ librarianId, timeZone: zone, slotMinutes }).slice(0, -1);
    return { json: Buffer.from(`${head},"slots":[${json.join(',')}]}`) };
  }
}
