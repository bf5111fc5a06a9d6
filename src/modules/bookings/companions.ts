import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { companions, manageTokens } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import { singleLine } from '../../http/single-line.js';
import type { Clock } from '../../time/clock.js';
import type { Dimension } from '../categories/schemas.js';
import { assertCategories, type CategoryService } from '../categories/service.js';
import type { LibrarianService } from '../librarians/service.js';
import { hashManageToken } from '../links/tokens.js';
import type { OutboxSettings } from '../notifications/outbox.js';
import type { Caller } from './access.js';
import {
  bookingUpdate,
  bumped,
  finishChange,
  type IssuedLinks,
  newCompanions,
  openForChange,
  selectColumns,
  tooManyCompanions,
  viewOf,
} from './change-steps.js';
import { activeCompanions, type CompanionRow } from './repository.js';
import { withinCompanionLimits } from './roles.js';
import type { Booking, PutCompanion } from './schemas.js';

type FriendAnswer = 'declined' | 'confirmed' | 'rejoined';

/**
 * What a friend may answer through their link, from which state, and what it sets. "I can come
 * after all" is a yes (confirmed); declining withdraws a yes.
 */
const FRIEND_ANSWERS: Record<
  FriendAnswer,
  {
    from: (companion: CompanionRow) => boolean;
    refusal: { code: string; detail: string };
    refusesCancelled: boolean;
    needsRoom: boolean;
    change: (now: Date) => Partial<CompanionRow>;
  }
> = {
  declined: {
    from: (companion) => companion.status === 'invited',
    refusal: { code: 'companion_not_invited', detail: 'This invitation is no longer open.' },
    refusesCancelled: false,
    needsRoom: false,
    change: (now) => ({ status: 'declined', confirmedAt: null, statusChangedAt: now }),
  },
  confirmed: {
    from: (companion) => companion.status === 'invited' && companion.confirmedAt === null,
    refusal: {
      code: 'companion_not_invited',
      detail: 'Only an invited companion who has not yet answered can say they will come.',
    },
    refusesCancelled: true,
    needsRoom: false,
    change: (now) => ({ confirmedAt: now }),
  },
  rejoined: {
    from: (companion) => companion.status === 'declined',
    refusal: {
      code: 'companion_not_declined',
      detail: 'Only a companion who declined can say they can come after all.',
    },
    refusesCancelled: true,
    needsRoom: true,
    change: (now) => ({ status: 'invited', confirmedAt: now, statusChangedAt: now }),
  },
};

/**
 * Bringing a friend: add, change or remove companions until the session starts; companions
 * answer (will come, can't come, can after all). Each change is four statements
 * (change-steps.ts): lock, companions, facts, writes.
 */
export function createCompanionService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'publicUrl'>;
  outbox: OutboxSettings;
  librarians: LibrarianService;
  categories: CategoryService;
}) {
  const { db, clock } = deps;

  /** A friend's answer through their own link: one change, its rules in FRIEND_ANSWERS. */
  async function answerAsCompanion(id: string, caller: Caller, answer: FriendAnswer): Promise<Booking> {
    const rule = FRIEND_ANSWERS[answer];
    const now = clock.now();
    return transaction(db, async (tx) => {
      const open = await openForChange(tx, id, caller, 'decline', now, selectColumns(tx));
      const { party } = open;
      const companion =
        party.kind === 'companion_link' ? open.companions.find((row) => row.id === party.companionId) : undefined;
      if (rule.refusesCancelled && open.booking.status === 'cancelled') {
        throw new Conflict('booking_cancelled', 'This booking is cancelled.');
      }
      if (!companion || !rule.from(companion)) throw new Conflict(rule.refusal.code, rule.refusal.detail);
      if (open.booking.startsAt <= now) {
        throw new RuleViolation('session_started', 'The session has started; it can no longer be changed.');
      }
      if (
        rule.needsRoom &&
        !withinCompanionLimits(
          activeCompanions(open.companions.filter((row) => row.id !== companion.id)).concat(companion),
          open.librarian.maxCompanions,
        )
      ) {
        throw tooManyCompanions(open.librarian.maxCompanions);
      }
      const before = viewOf(open, open.booking, open.companions, party);
      const booking = bumped(open.booking, now);
      const change = rule.change(now);
      return finishChange(tx, deps.outbox, open, {
        action: `companion_${answer}`,
        before,
        now,
        booking,
        companions: open.companions.map((row) => (row.id === companion.id ? { ...row, ...change } : row)),
        writes: {
          [`${answer}_companion`]: tx.update(companions).set(change).where(eq(companions.id, companion.id)),
          changed_booking: bookingUpdate(tx, booking),
        },
        notify: { kind: `companion_${answer}`, companionIds: [companion.id] },
      });
    });
  }

  return {
    /**
     * Adds a companion, or updates the one `companionId` names, or else the one with the same email
     * (or, without email, the same name). An update is a correction of the same person: they stay
     * invited, and only a new email address is sent the invitation.
     */
    async putCompanion(id: string, caller: Caller, input: PutCompanion): Promise<Booking> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const open = await openForChange(tx, id, caller, 'companion', now, (columns) =>
          selectColumns(tx)({
            ...columns,
            dimensions: input.categories ? deps.categories.dimensionsSql() : sql<Dimension[]>`'[]'::jsonb`,
          }),
        );
        if (input.categories) assertCategories(open.facts.dimensions, input.categories, '/categories');
        const active = activeCompanions(open.companions);
        const same = input.companionId
          ? active.find((companion) => companion.id === input.companionId)
          : active.find((companion) =>
              input.email
                ? companion.email?.toLowerCase() === input.email.toLowerCase()
                : !companion.email && companion.name?.toLowerCase() === input.name.toLowerCase(),
            );
        if (input.companionId && !same) {
          throw new Conflict('companion_not_invited', 'That companion is not invited to this booking (any more).');
        }
        const before = viewOf(open, open.booking, open.companions);
        let links: IssuedLinks['companions'] = [];
        let companionsAfter: CompanionRow[];
        let writes: Parameters<typeof finishChange>[3]['writes'];
        if (same) {
          const changed = {
            name: singleLine(input.name),
            email: input.email ?? null,
            role: input.role ?? same.role,
            language: input.language ?? same.language,
            // A correction by id keeps the answers it does not give.
            categories: input.categories ?? (input.companionId ? same.categories : null),
          };
          companionsAfter = open.companions.map((companion) =>
            companion.id === same.id ? { ...companion, ...changed } : companion,
          );
          const newAddress = (same.email?.toLowerCase() ?? null) !== (changed.email?.toLowerCase() ?? null);
          writes = {
            changed_companion: tx.update(companions).set(changed).where(eq(companions.id, same.id)),
            // Links sent to an address that was wrong stop working; the new address gets its own.
            ...(newAddress
              ? {
                  revoked_links: tx
                    .update(manageTokens)
                    .set({ revokedAt: now })
                    .where(and(eq(manageTokens.companionId, same.id), isNull(manageTokens.revokedAt))),
                }
              : {}),
          };
        } else {
          if (!withinCompanionLimits([...active, { role: input.role ?? 'friend' }], open.librarian.maxCompanions)) {
            throw tooManyCompanions(open.librarian.maxCompanions);
          }
          const added = newCompanions(tx, deps.config.publicUrl, open.booking, [input], now);
          links = added.links;
          companionsAfter = [...open.companions, ...added.rows];
          writes = added.writes;
        }
        const booking = bumped(open.booking, now);
        // A new companion, or one whose email changed, gets an invitation; the librarian an update.
        const invited = same
          ? same.email?.toLowerCase() !== input.email?.toLowerCase() && input.email
            ? [same.id]
            : []
          : links.map((link) => link.companionId);
        const after = await finishChange(tx, deps.outbox, open, {
          action: same ? 'companion_updated' : 'companion_added',
          before,
          now,
          booking,
          companions: companionsAfter,
          writes: { ...writes, changed_booking: bookingUpdate(tx, booking) },
          ...(invited.length > 0 ? { notify: { kind: 'companion_added' as const, companionIds: invited } } : {}),
        });
        return { ...after, ...(links.length > 0 ? { links: { companions: links } } : {}) };
      });
    },

    async removeCompanion(id: string, caller: Caller, companionId?: string): Promise<Booking> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const open = await openForChange(tx, id, caller, 'companion', now, selectColumns(tx));
        const active = activeCompanions(open.companions);
        const removing = companionId ? active.filter((companion) => companion.id === companionId) : active;
        if (removing.length === 0) throw new NotFound(companionId ? `Companion ${companionId}` : 'An active companion');
        const before = viewOf(open, open.booking, open.companions);
        const companionIds = removing.map((companion) => companion.id);
        const booking = bumped(open.booking, now);
        return finishChange(tx, deps.outbox, open, {
          action: 'companion_removed',
          before,
          now,
          booking,
          companions: open.companions.map((companion) =>
            companionIds.includes(companion.id)
              ? { ...companion, status: 'removed' as const, statusChangedAt: now }
              : companion,
          ),
          writes: {
            removed_companions: tx
              .update(companions)
              .set({ status: 'removed', statusChangedAt: now })
              .where(inArray(companions.id, companionIds)),
            revoked_links: tx
              .update(manageTokens)
              .set({ revokedAt: now })
              .where(inArray(manageTokens.companionId, companionIds)),
            changed_booking: bookingUpdate(tx, booking),
          },
          notify: { kind: 'companion_removed', companionIds },
        });
      });
    },

    /**
     * Whether `token` was a friend's link to booking `id` that stopped working because the friend
     * was removed: their page says so instead of "not found". The link's holder learns nothing they
     * were not told by email.
     */
    async isRemovedFriendLink(id: string, token: string): Promise<boolean> {
      const [row] = await db
        .select({ status: companions.status })
        .from(manageTokens)
        .innerJoin(companions, eq(companions.id, manageTokens.companionId))
        .where(and(eq(manageTokens.tokenHash, hashManageToken(token)), eq(manageTokens.bookingId, id)));
      return row?.status === 'removed';
    },

    /** "I can't come": an invited friend declines, until the session starts. */
    declineAsCompanion: (id: string, caller: Caller) => answerAsCompanion(id, caller, 'declined'),
    /** "I'll come": an invited friend says they are coming, until the session starts. */
    confirmAsCompanion: (id: string, caller: Caller) => answerAsCompanion(id, caller, 'confirmed'),
    /**
     * Undoes "I can't come": a friend who declined says they can come after all (a yes), until
     * the session starts, while the librarian's limit of friends leaves room for them.
     */
    rejoinAsCompanion: (id: string, caller: Caller) => answerAsCompanion(id, caller, 'rejoined'),
  };
}

export type CompanionService = ReturnType<typeof createCompanionService>;
