import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { companions, manageTokens } from '../../db/schema.js';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import type { CategoryService } from '../categories/service.js';
import type { LibrarianService } from '../librarians/service.js';
import { authorize, type Caller } from './access.js';
import type { BookingChanges, IssuedLinks } from './changes.js';
import { activeCompanions, type BookingRow, companionsOf, lockBooking } from './repository.js';
import type { Booking, CompanionInput } from './schemas.js';

/** Bringing a friend: add, change or remove companions until the session starts; companions decline. */
export function createCompanionService(deps: {
  db: Database;
  clock: Clock;
  changes: BookingChanges;
  librarians: LibrarianService;
  categories: CategoryService;
}) {
  const { db, clock } = deps;
  const { view, openForChange, finishChange, bumpSequence, addCompanions, tooManyCompanions } = deps.changes;

  return {
    /** Adds a companion, or updates the one with the same email (or, without email, the same name). */
    async putCompanion(id: string, caller: Caller, input: CompanionInput): Promise<Booking> {
      const now = clock.now();
      return db.transaction(async (tx) => {
        const { booking, party } = await openForChange(tx, id, caller, 'companion', now);
        if (input.categories) await deps.categories.checkCategories(input.categories, '/categories', tx);
        const librarian = await deps.librarians.findRow(booking.librarianId as string, tx);
        const active = activeCompanions(await companionsOf(tx, [id]));
        const same = active.find((companion) =>
          input.email
            ? companion.email?.toLowerCase() === input.email.toLowerCase()
            : !companion.email && companion.name?.toLowerCase() === input.name.toLowerCase(),
        );
        const before = await view(tx, id);
        let links: IssuedLinks['companions'] = [];
        if (same) {
          await tx
            .update(companions)
            .set({ name: input.name, email: input.email ?? null, categories: input.categories ?? null })
            .where(eq(companions.id, same.id));
        } else {
          if (active.length >= librarian.maxCompanions) throw tooManyCompanions(librarian.maxCompanions);
          links = await addCompanions(tx, booking, [input], now);
        }
        await bumpSequence(tx, id, now);
        // A new companion, or one whose email changed, gets an invitation; the librarian an update.
        const invited = same
          ? same.email?.toLowerCase() !== input.email?.toLowerCase() && input.email
            ? [same.id]
            : []
          : links.map((link) => link.companionId);
        const after = await finishChange(tx, {
          id,
          party,
          action: same ? 'companion_updated' : 'companion_added',
          before,
          now,
          ...(invited.length > 0 ? { notify: { kind: 'companion_added' as const, companionIds: invited } } : {}),
        });
        return { ...after, ...(links.length > 0 ? { links: { companions: links } } : {}) };
      });
    },

    async removeCompanion(id: string, caller: Caller, companionId?: string): Promise<Booking> {
      const now = clock.now();
      return db.transaction(async (tx) => {
        const { party } = await openForChange(tx, id, caller, 'companion', now);
        const active = activeCompanions(await companionsOf(tx, [id]));
        const removing = companionId ? active.filter((companion) => companion.id === companionId) : active;
        if (removing.length === 0) throw new NotFound(companionId ? `Companion ${companionId}` : 'An active companion');
        const before = await view(tx, id);
        for (const companion of removing) {
          await tx
            .update(companions)
            .set({ status: 'removed', statusChangedAt: now })
            .where(eq(companions.id, companion.id));
          await tx.update(manageTokens).set({ revokedAt: now }).where(eq(manageTokens.companionId, companion.id));
        }
        await bumpSequence(tx, id, now);
        const companionIds = removing.map((companion) => companion.id);
        return finishChange(tx, {
          id,
          party,
          action: 'companion_removed',
          before,
          now,
          notify: { kind: 'companion_removed', companionIds },
        });
      });
    },

    async declineAsCompanion(id: string, caller: Caller): Promise<Booking> {
      const now = clock.now();
      return db.transaction(async (tx) => {
        const booking = await lockBooking(tx, id);
        const party = await authorize(tx, booking, id, caller, 'decline', now);
        if (party.kind !== 'companion_link') throw new Forbidden('Only the companion can decline.');
        const [companion] = await tx.select().from(companions).where(eq(companions.id, party.companionId));
        if (companion?.status !== 'invited') {
          throw new Conflict('companion_not_invited', 'This invitation is no longer open.');
        }
        if ((booking as BookingRow).startsAt <= now) {
          throw new RuleViolation('session_started', 'The session has started; it can no longer be changed.');
        }
        const before = await view(tx, id, party);
        await tx
          .update(companions)
          .set({ status: 'declined', statusChangedAt: now })
          .where(eq(companions.id, companion.id));
        await bumpSequence(tx, id, now);
        return finishChange(tx, {
          id,
          party,
          action: 'companion_declined',
          before,
          now,
          notify: { kind: 'companion_declined' },
        });
      });
    },
  };
}

export type CompanionService = ReturnType<typeof createCompanionService>;
