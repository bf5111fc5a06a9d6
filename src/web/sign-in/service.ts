import { createHash, randomBytes } from 'node:crypto';
import { and, count, eq, gt, isNull } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database } from '../../db/client.js';
import { signInLinks } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { newMessageId, queueMessages } from '../../modules/notifications/queue.js';
import type { Role } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';

const LINK_MINUTES = 15;
/** Links one address may ask for in LINK_MINUTES (more are silently not sent). */
const LINKS_PER_ADDRESS = 3;

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface SignedInPerson {
  sub: string;
  email: string;
  name: string | null;
  roles: Role[];
}

/**
 * Sign-in by emailed link: 256 random bits, stored hashed, 15 minutes, single use, sent through
 * the outbox. Asking never says whether an address is known.
 */
export function createSignInService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'web' | 'publicUrl'>;
  messageIdDomain: string;
  findLibrarianIdByEmail(email: string): Promise<string | null>;
}) {
  const { db, clock } = deps;

  function isAllowedAddress(email: string): boolean {
    const domain = email.toLowerCase().split('@')[1] ?? '';
    return deps.config.web.signInEmailDomains.some((allowed) => domain === allowed || domain.endsWith(`.${allowed}`));
  }

  return {
    isAllowedAddress,

    /** Queues a link when the address may sign in and has not asked too often; says nothing either way. */
    async requestLink(email: string, next: string, language: string): Promise<void> {
      const address = email.trim().toLowerCase();
      if (!isAllowedAddress(address)) return;
      const now = clock.now();
      await transaction(db, async (tx) => {
        const [recent] = await tx
          .select({ total: count() })
          .from(signInLinks)
          .where(
            and(
              eq(signInLinks.email, address),
              gt(signInLinks.createdAt, new Date(now.getTime() - LINK_MINUTES * 60_000)),
            ),
          );
        if ((recent?.total ?? 0) >= LINKS_PER_ADDRESS) return;
        const token = randomBytes(32).toString('base64url');
        await tx.insert(signInLinks).values({
          tokenHash: hash(token),
          email: address,
          next,
          expiresAt: new Date(now.getTime() + LINK_MINUTES * 60_000),
          createdAt: now,
        });
        await writeTogether(tx, {
          sign_in_link: queueMessages(tx, [
            {
              kind: 'sign_in_link',
              bookingId: null,
              recipientRole: 'student',
              recipientEmail: address,
              recipientName: null,
              // Written in the language of the page that asked for it.
              language,
              sendAfter: now,
              createdAt: now,
              messageId: newMessageId(deps.messageIdDomain),
              // Kept only until sent, like a manage link; the hash is what signs in.
              linkToken: token,
            },
          ]),
        });
      });
    },

    /** The address a link that still works would sign in, without using it; or null. */
    async peekLink(token: string): Promise<string | null> {
      const now = clock.now();
      const [link] = await db
        .select({ email: signInLinks.email })
        .from(signInLinks)
        .where(and(eq(signInLinks.tokenHash, hash(token)), isNull(signInLinks.usedAt), gt(signInLinks.expiresAt, now)));
      return link?.email ?? null;
    },

    /** Uses a link once: the person it signs in and where they were going, or null. */
    async consumeLink(token: string): Promise<{ person: SignedInPerson; next: string | null } | null> {
      const now = clock.now();
      const [used] = await db
        .update(signInLinks)
        .set({ usedAt: now })
        .where(and(eq(signInLinks.tokenHash, hash(token)), isNull(signInLinks.usedAt), gt(signInLinks.expiresAt, now)))
        .returning();
      if (!used) return null;
      const isLibrarian = (await deps.findLibrarianIdByEmail(used.email)) !== null;
      return {
        person: {
          sub: `email:${used.email}`,
          email: used.email,
          name: null,
          roles: [isLibrarian ? 'librarian' : 'student'],
        },
        next: used.next,
      };
    },
  };
}

export type SignInService = ReturnType<typeof createSignInService>;
