import { and, asc, eq, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Executor } from '../../db/client.js';
import { PG_UNIQUE_VIOLATION, pgError } from '../../db/errors.js';
import { calendarConnections, librarians } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, InvalidInput, NotFound } from '../../errors.js';
import { checkInput } from '../../http/check-input.js';
import { isMeetingUrl, MEETING_URL_MAX_LENGTH } from '../../http/meeting-url.js';
import { singleLine, singleLineOrNull } from '../../http/single-line.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { isCanonicalTimeZone, TIME_ZONE_HINT } from '../../time/zone.js';
import { changedFields, recordStaffAction, type StaffActor } from '../staff-record/service.js';
import { CreateLibrarian, type Librarian, type LibrarianQuery, UpdateLibrarian } from './schemas.js';

type LibrarianRow = typeof librarians.$inferSelect;

function checkTimeZone(zone: string | undefined): void {
  if (zone !== undefined && !isCanonicalTimeZone(zone)) {
    throw new InvalidInput(`"${zone}" is not an IANA time zone.`, [
      { pointer: '/timeZone', in: 'body', message: TIME_ZONE_HINT },
    ]);
  }
}

/** The meeting link rule, on every path to the table (the API's schema, the staff page's form). */
function checkMeetingUrl(url: string | null | undefined): void {
  if (url !== undefined && url !== null && !isMeetingUrl(url)) {
    throw new InvalidInput('The meeting link must be an https:// address.', [
      {
        pointer: '/meetingUrl',
        in: 'body',
        message: `must be an https:// address of at most ${MEETING_URL_MAX_LENGTH} characters`,
      },
    ]);
  }
}

/** A change's one-line fields (name, faculty, location, subjects) with line breaks collapsed. */
function oneLineFields(input: UpdateLibrarian): UpdateLibrarian {
  return {
    ...input,
    ...(input.name === undefined ? {} : { name: singleLine(input.name) }),
    ...(input.faculty === undefined ? {} : { faculty: singleLineOrNull(input.faculty) }),
    ...(input.location === undefined ? {} : { location: singleLineOrNull(input.location) }),
    ...(input.subjects === undefined ? {} : { subjects: input.subjects.map(singleLine) }),
  };
}

function canSeePrivate(user: AuthUser | null, id: string): boolean {
  return Boolean(user?.roles.includes('admin') || (user?.librarianId && user.librarianId === id));
}

export function toLibrarian(row: LibrarianRow, withPrivate: boolean): Librarian {
  return {
    id: row.id,
    name: row.name,
    subjects: row.subjects,
    faculty: row.faculty,
    timeZone: row.timeZone,
    modes: row.modes as Librarian['modes'],
    location: row.location,
    slotMinutes: row.slotMinutes,
    maxCompanions: row.maxCompanions,
    ...(withPrivate ? { email: row.email, meetingUrl: row.meetingUrl, active: row.active } : {}),
  };
}

async function uniqueEmail<T>(write: () => Promise<T>, email: string | undefined): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (pgError(error)?.code === PG_UNIQUE_VIOLATION) {
      throw new Conflict('librarian_exists', `A librarian with email ${email} already exists.`);
    }
    throw error;
  }
}

export function createLibrarianService({
  db,
  clock,
  config,
}: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone'>;
}) {
  async function findRow(id: string, executor: Executor = db): Promise<LibrarianRow> {
    const [row] = await executor.select().from(librarians).where(eq(librarians.id, id));
    if (!row) throw new NotFound(`Librarian ${id}`);
    return row;
  }

  return {
    findRow,

    async list(user: AuthUser | null, query: LibrarianQuery): Promise<Librarian[]> {
      const isAdmin = Boolean(user?.roles.includes('admin'));
      const rows = await db
        .select()
        .from(librarians)
        .where(
          and(
            isAdmin && query.includeInactive ? undefined : eq(librarians.active, true),
            query.subject
              ? sql`exists (select 1 from unnest(${librarians.subjects}) s where lower(s) = lower(${query.subject}))`
              : undefined,
            query.faculty ? sql`lower(${librarians.faculty}) = lower(${query.faculty})` : undefined,
          ),
        )
        .orderBy(asc(librarians.name), asc(librarians.id));
      return rows.map((row) => toLibrarian(row, canSeePrivate(user, row.id)));
    },

    async get(user: AuthUser | null, id: string): Promise<Librarian> {
      const row = await findRow(id);
      const withPrivate = canSeePrivate(user, id);
      if (!row.active && !withPrivate) throw new NotFound(`Librarian ${id}`);
      return toLibrarian(row, withPrivate);
    },

    /** A new librarian, written in the staff record as `actor`'s. */
    async create(input: CreateLibrarian, actor: StaffActor): Promise<Librarian> {
      checkInput(CreateLibrarian, input);
      checkTimeZone(input.timeZone);
      checkMeetingUrl(input.meetingUrl);
      const now = clock.now();
      const row = await uniqueEmail(
        () =>
          transaction(db, async (tx) => {
            const [created] = await tx
              .insert(librarians)
              .values({
                createdAt: now,
                updatedAt: now,
                email: input.email,
                name: singleLine(input.name),
                subjects: (input.subjects ?? []).map(singleLine),
                faculty: singleLineOrNull(input.faculty),
                timeZone: input.timeZone ?? config.libraryTimeZone,
                modes: input.modes ?? (input.meetingUrl && !input.location ? ['online'] : ['in_person']),
                location: singleLineOrNull(input.location),
                meetingUrl: input.meetingUrl ?? null,
              })
              .returning();
            const librarian = created as LibrarianRow;
            await recordStaffAction(tx, now, {
              actor,
              action: 'librarian.created',
              subject: librarian.email,
              after: toLibrarian(librarian, true),
            });
            return librarian;
          }),
        input.email,
      );
      return toLibrarian(row, true);
    },

    /** A change to a librarian (deactivating one too), written in the staff record as `actor`'s. */
    async update(id: string, input: UpdateLibrarian, actor: StaffActor): Promise<Librarian> {
      checkInput(UpdateLibrarian, input);
      checkTimeZone(input.timeZone);
      checkMeetingUrl(input.meetingUrl);
      const now = clock.now();
      const row = await uniqueEmail(
        () =>
          transaction(db, async (tx) => {
            const [before] = await tx.select().from(librarians).where(eq(librarians.id, id)).for('update');
            if (!before) throw new NotFound(`Librarian ${id}`);
            const [after] = await tx
              .update(librarians)
              .set({ ...oneLineFields(input), updatedAt: now })
              .where(eq(librarians.id, id))
              .returning();
            const updated = after as LibrarianRow;
            // A librarian who leaves takes their calendar connections (sealed addresses and busy time) with them.
            if (before.active && !updated.active) {
              await tx.delete(calendarConnections).where(eq(calendarConnections.librarianId, id));
            }
            const change = changedFields(toLibrarian(before, true), toLibrarian(updated, true));
            if (Object.keys(change.after).length > 0) {
              await recordStaffAction(tx, now, {
                actor,
                action: 'librarian.changed',
                subject: updated.email,
                ...change,
              });
            }
            return updated;
          }),
        input.email,
      );
      return toLibrarian(row, true);
    },

    async findIdByEmail(email: string): Promise<string | null> {
      const [row] = await db
        .select({ id: librarians.id })
        .from(librarians)
        .where(and(sql`lower(${librarians.email}) = lower(${email})`, eq(librarians.active, true)));
      return row?.id ?? null;
    },
  };
}

export type LibrarianService = ReturnType<typeof createLibrarianService>;
