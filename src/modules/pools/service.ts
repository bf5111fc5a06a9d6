import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { freshReads } from '../../db/fresh-reads.js';
import { bookings, librarians, teamMembers, teams } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, DomainError, InvalidInput, NotFound, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { instantFormatter } from '../../time/zone.js';
import type { AvailabilityService } from '../availability/service.js';
import type { Mode } from '../availability/slots.js';
import type { BookingService } from '../bookings/service.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { assignmentOrder } from './assignment.js';
import type { CreatePooledBooking, PoolSlotList, PoolSlotQuery, TeamInput } from './schemas.js';

const DAY = 24 * 60 * 60_000;
/** Refusals that mean "not this librarian": the next one in the order is tried. */
const NOT_THIS_ONE = [
  'slot_unavailable',
  'outside_availability',
  'too_many_companions',
  'mode_unavailable',
  'not_found',
];
const MODE_ORDER: Mode[] = ['in_person', 'online'];
/** Merged lists kept (the pools students are looking at). */
const MERGED_LISTS_KEPT = 100;

type TeamRow = typeof teams.$inferSelect;

/** A pool a student books from: a subject librarians list, or a team an admin made. */
export interface Pool {
  key: string;
  name: string;
  librarianIds: string[];
}

/**
 * "Any available librarian": subjects and teams as ways in, one list of times merged across a
 * pool's librarians, and booking a pooled time, which assigns the librarian at that moment.
 */
export function createPoolService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone'>;
  availability: AvailabilityService;
  bookings: BookingService;
}) {
  const { db, clock } = deps;
  /** Merged lists by pool and range, with the versions of the lists they were merged from. */
  const mergedLists = new Map<string, { versions: string; list: PoolSlotList }>();
  const poolReads = freshReads<Pool>();
  /** Active librarians who list `subject` (any case); `subject` a value or a statement's placeholder. */
  const listsSubject = (subject: unknown) =>
    sql`${librarians.active} and exists (select 1 from unnest(${librarians.subjects}) s where lower(s) = lower(${subject}))`;
  /** Active librarians in team `team`; a value or a statement's placeholder. */
  const inTeam = (team: unknown) =>
    sql`${librarians.active} and ${librarians.id} in (select ${teamMembers.librarianId} from ${teamMembers} where ${teamMembers.teamId} = ${team}::uuid)`;
  // A pool's librarians chosen and everything their slots need read, in one statement each kind.
  const subjectListings = deps.availability.listingsWhere(
    'liaison_subject_listings',
    listsSubject(sql.placeholder('subject')),
    asc(librarians.name),
    {},
  );
  const teamListings = deps.availability.listingsWhere(
    'liaison_team_listings',
    inTeam(sql.placeholder('team')),
    asc(librarians.name),
    {
      teamName: sql<
        string | null
      >`(select ${teams.name} from ${teams} where ${teams.id} = ${sql.placeholder('team')}::uuid)`,
    },
  );

  /** A subject's pool, spelled as its first librarian (by name) spells it. */
  function subjectPool(asked: string, first: { subjects: string[] }, librarianIds: string[]): Pool {
    const lower = asked.toLowerCase();
    const name = first.subjects.find((one) => one.toLowerCase() === lower) ?? asked;
    return { key: `subject:${name.toLowerCase()}`, name, librarianIds };
  }

  async function teamView(row: TeamRow) {
    const members = await db
      .select({ librarianId: teamMembers.librarianId })
      .from(teamMembers)
      .innerJoin(librarians, eq(librarians.id, teamMembers.librarianId))
      .where(eq(teamMembers.teamId, row.id))
      .orderBy(asc(librarians.name));
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      librarianIds: members.map((member) => member.librarianId),
    };
  }

  /**
   * The pool a query names: exactly one of subject and team. Concurrent requests for one pool
   * share a read, never one begun before they asked (db/fresh-reads.ts).
   */
  async function resolve(query: { subject?: string | undefined; team?: string | undefined }): Promise<Pool> {
    checkNamesOne(query);
    const key =
      query.team !== undefined ? `team:${query.team}` : `subject:${(query.subject as string).trim().toLowerCase()}`;
    return poolReads(key, () => readPool(query));
  }

  function checkNamesOne(query: { subject?: string | undefined; team?: string | undefined }) {
    if ((query.subject === undefined) === (query.team === undefined)) {
      throw new InvalidInput('Name a subject or a team, not both.', [
        {
          pointer: query.subject === undefined ? '/subject' : '/team',
          message: 'give exactly one of subject and team',
        },
      ]);
    }
  }

  async function readPool(query: { subject?: string | undefined; team?: string | undefined }): Promise<Pool> {
    if (query.team !== undefined) {
      const [team] = await db.select().from(teams).where(eq(teams.id, query.team));
      if (!team) throw new NotFound(`Team ${query.team}`);
      const members = await db
        .select({ id: librarians.id })
        .from(librarians)
        .where(inTeam(team.id))
        .orderBy(asc(librarians.name));
      return { key: `team:${team.id}`, name: team.name, librarianIds: members.map((member) => member.id) };
    }
    const subject = (query.subject as string).trim();
    const members = await db
      .select({ id: librarians.id, subjects: librarians.subjects })
      .from(librarians)
      .where(listsSubject(subject))
      .orderBy(asc(librarians.name));
    const first = members[0];
    if (!first) throw new NotFound(`Subject ${subject}`);
    return subjectPool(
      subject,
      first,
      members.map((member) => member.id),
    );
  }

  /**
   * The pool a listing read picked, or undefined when it picked nobody: no such subject or team
   * (resolve says 404), or a team without an active librarian (resolve gives it, with no times).
   */
  function poolPicked(
    query: { subject?: string | undefined; team?: string | undefined },
    picked: { librarian: { id: string; subjects: string[] }; extra: { teamName?: string | null } }[],
  ): Pool | undefined {
    const first = picked[0];
    if (!first) return undefined;
    const librarianIds = picked.map((row) => row.librarian.id);
    if (query.team !== undefined) {
      const name = first.extra.teamName;
      return name == null ? undefined : { key: `team:${query.team}`, name, librarianIds };
    }
    return subjectPool((query.subject as string).trim(), first.librarian, librarianIds);
  }

  return {
    resolve,

    /** Every subject an active librarian lists, and every team, with how many librarians each has. */
    async list() {
      // One entry per subject whatever its case, spelled as most of its librarians spell it.
      const subjects = await db
        .select({
          name: sql<string>`mode() within group (order by s)`,
          librarians: sql<number>`count(distinct ${librarians.id})::int`,
        })
        .from(sql`${librarians}, unnest(${librarians.subjects}) s`)
        .where(eq(librarians.active, true))
        .groupBy(sql`lower(s)`)
        .orderBy(sql`lower(s)`);
      const teamRows = await db.select().from(teams).orderBy(asc(teams.name));
      const counts = await db
        .select({ teamId: teamMembers.teamId, librarians: sql<number>`count(*)::int` })
        .from(teamMembers)
        .innerJoin(librarians, eq(librarians.id, teamMembers.librarianId))
        .where(eq(librarians.active, true))
        .groupBy(teamMembers.teamId);
      return {
        subjects,
        teams: teamRows.map((team) => ({
          id: team.id,
          name: team.name,
          description: team.description,
          librarians: counts.find((row) => row.teamId === team.id)?.librarians ?? 0,
        })),
      };
    },

    /**
     * The pool's times in one list: each start once however many librarians are free then, with
     * every mode offered and the places, when they differ.
     */
    async slots(query: PoolSlotQuery) {
      checkNamesOne(query);
      const zone = query.tz ?? deps.config.libraryTimeZone;
      const range = { from: query.from, to: query.to, tz: zone };
      // The pool's librarians and their inputs in one statement; each list from the slot cache.
      const team = query.team;
      const picked =
        team !== undefined
          ? await deps.availability.rawSlotsWhere((fromMs, toMs) => teamListings({ team }, fromMs, toMs), range)
          : await deps.availability.rawSlotsWhere(
              (fromMs, toMs) => subjectListings({ subject: (query.subject as string).trim() }, fromMs, toMs),
              range,
            );
      const pool = poolPicked(query, picked) ?? (await resolve(query));
      const lists = picked.map((row) => row.answer);
      const merged = new Map<string, { startMs: number; endMs: number; modes: Set<Mode>; locations: Set<string> }>();
      // The same lists as last time (each librarian's cache says so): the same merged answer.
      const key = `${pool.key} ${query.from} ${query.to} ${zone}`;
      const versions = `${pool.name}|${pool.librarianIds.join(',')}|${lists.map((list) => list.version).join(',')}`;
      const kept = mergedLists.get(key);
      if (kept?.versions === versions) return kept.list;
      for (const list of lists) {
        for (const slot of list.slots) {
          const key = `${slot.startMs} ${slot.endMs}`;
          let entry = merged.get(key);
          if (!entry) {
            entry = { startMs: slot.startMs, endMs: slot.endMs, modes: new Set(), locations: new Set() };
            merged.set(key, entry);
          }
          for (const mode of slot.modes) entry.modes.add(mode);
          if (slot.location && slot.modes.includes('in_person')) entry.locations.add(slot.location);
        }
      }
      const format = instantFormatter(zone);
      const list = {
        pool: pool.key,
        name: pool.name,
        timeZone: zone,
        slots: [...merged.values()]
          .sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs)
          .map((slot) => ({
            start: format(slot.startMs),
            end: format(slot.endMs),
            modes: MODE_ORDER.filter((mode) => slot.modes.has(mode)),
            locations: [...slot.locations].sort(),
          })),
      };
      if (mergedLists.size >= MERGED_LISTS_KEPT && !mergedLists.has(key))
        mergedLists.delete(mergedLists.keys().next().value as string);
      mergedLists.set(key, { versions, list });
      return list;
    },

    /**
     * Books a pooled time: the pool's librarians in assignment order (assignment.ts), each tried
     * as an ordinary booking, whose transaction and exclusion constraint decide any race; one who
     * is not free then, or takes no friend when one comes, is passed over. Two students at once get
     * two librarians when two are free, and the second a 409 when only one is.
     */
    async book(user: AuthUser, input: CreatePooledBooking, options: { idempotencyKey?: string } = {}) {
      const pool = await resolve(input);
      const { subject: _subject, team: _team, ...rest } = input;
      const startMs = Date.parse(input.start);
      // The outer librarian's id, qualified (drizzle leaves columns bare in a one-table select,
      // where the subqueries' own "id" would win).
      const librarianId = sql`${librarians}.${sql.identifier('id')}`;
      const loads =
        pool.librarianIds.length === 0
          ? []
          : await db
              .select({
                librarianId: librarians.id,
                sessions: sql<number>`(select count(*)::int from ${bookings} b where b.librarian_id = ${librarianId}
                  and b.status = 'confirmed' and b.starts_at >= ${new Date(startMs - 7 * DAY)} and b.starts_at < ${new Date(startMs + 7 * DAY)})`,
                lastAssigned: sql<
                  string | null
                >`(select max(b.created_at)::text from ${bookings} b where b.librarian_id = ${librarians.id} and b.pool is not null)`,
              })
              .from(librarians)
              .where(inArray(librarians.id, pool.librarianIds));
      const order = assignmentOrder(
        loads.map((load) => ({
          librarianId: load.librarianId,
          sessions: Number(load.sessions),
          lastAssignedMs: load.lastAssigned ? Date.parse(load.lastAssigned) : null,
        })),
      );
      let refusal: DomainError | undefined;
      const ranking = [
        'not_found',
        'outside_availability',
        'mode_unavailable',
        'slot_unavailable',
        'too_many_companions',
      ];
      for (const candidate of order) {
        try {
          return await deps.bookings.create(user, { ...rest, librarianId: candidate }, { ...options, pool: pool.key });
        } catch (error) {
          if (!(error instanceof DomainError) || !NOT_THIS_ONE.includes(error.code)) throw error;
          // The refusal to give if nobody is free: the one nearest to a booking.
          if (!refusal || ranking.indexOf(error.code) > ranking.indexOf(refusal.code)) refusal = error;
        }
      }
      if (refusal?.code === 'too_many_companions') {
        throw new RuleViolation(
          'too_many_companions',
          'Nobody free at that time can take that many friends; choose another time, or fewer friends.',
          refusal.extra.errors,
        );
      }
      if (refusal?.code === 'outside_availability' || refusal?.code === 'mode_unavailable') throw refusal;
      throw new Conflict('slot_unavailable', 'That time has just been taken; choose another.');
    },

    async listTeams() {
      const rows = await db.select().from(teams).orderBy(asc(teams.name));
      return Promise.all(rows.map(teamView));
    },

    async createTeam(actor: StaffActor, input: TeamInput) {
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [created] = await tx
          .insert(teams)
          .values({ name: input.name.trim(), description: input.description ?? null, createdAt: now, updatedAt: now })
          .onConflictDoNothing()
          .returning();
        if (!created) throw new Conflict('team_exists', `A team called ${input.name.trim()} exists already.`);
        await setMembers(tx, created.id, input.librarianIds);
        await recordStaffAction(tx, now, {
          actor,
          action: 'team.created',
          subject: created.id,
          after: { name: created.name, librarians: input.librarianIds.length },
        });
        return created;
      });
      return teamView(row);
    },

    async updateTeam(actor: StaffActor, id: string, input: TeamInput) {
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [before] = await tx.select().from(teams).where(eq(teams.id, id)).for('update');
        if (!before) throw new NotFound(`Team ${id}`);
        const [updated] = await tx
          .update(teams)
          .set({ name: input.name.trim(), description: input.description ?? null, updatedAt: now })
          .where(eq(teams.id, id))
          .returning();
        await setMembers(tx, id, input.librarianIds);
        await recordStaffAction(tx, now, {
          actor,
          action: 'team.changed',
          subject: id,
          before: { name: before.name },
          after: { name: updated?.name, librarians: input.librarianIds.length },
        });
        return updated as TeamRow;
      });
      return teamView(row);
    },

    async removeTeam(actor: StaffActor, id: string) {
      const now = clock.now();
      await transaction(db, async (tx) => {
        const [removed] = await tx.delete(teams).where(eq(teams.id, id)).returning();
        if (!removed) throw new NotFound(`Team ${id}`);
        await recordStaffAction(tx, now, {
          actor,
          action: 'team.removed',
          subject: id,
          before: { name: removed.name },
        });
      });
    },
  };

  async function setMembers(executor: Parameters<Parameters<typeof transaction>[1]>[0], teamId: string, ids: string[]) {
    const unique = [...new Set(ids)];
    if (unique.length > 0) {
      const known = await executor.select({ id: librarians.id }).from(librarians).where(inArray(librarians.id, unique));
      const knownIds = new Set(known.map((row) => row.id));
      const missing = unique.find((id) => !knownIds.has(id));
      if (missing !== undefined) {
        throw new RuleViolation('unknown_librarian', 'No such librarian.', [
          {
            pointer: `/librarianIds/${ids.indexOf(missing)}`,
            in: 'body',
            message: 'is not a librarian',
          },
        ]);
      }
    }
    await executor.delete(teamMembers).where(eq(teamMembers.teamId, teamId));
    if (unique.length > 0)
      await executor.insert(teamMembers).values(unique.map((librarianId) => ({ teamId, librarianId })));
  }
}

export type PoolService = ReturnType<typeof createPoolService>;
