import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { notifications } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, NotFound } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import { recordStaffAction, type StaffActor } from '../staff-record/service.js';
import type { Notification, NotificationQuery } from './schemas.js';

type NotificationRow = typeof notifications.$inferSelect;

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    kind: row.kind,
    bookingId: row.bookingId,
    recipientRole: row.recipientRole,
    recipientEmail: row.recipientEmail,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    sendAfter: row.sendAfter.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
    messageId: row.messageId,
  };
}

/** Admins' view of the outbox: what was sent, what is failing, and a way to retry the dead. */
export function createNotificationService({ db, clock }: { db: Database; clock: Clock }) {
  return {
    async list(query: NotificationQuery): Promise<Notification[]> {
      const rows = await db
        .select()
        .from(notifications)
        .where(
          and(
            query.status ? eq(notifications.status, query.status) : undefined,
            query.bookingId ? eq(notifications.bookingId, query.bookingId) : undefined,
          ),
        )
        .orderBy(desc(notifications.sendAfter), desc(notifications.id))
        .limit(query.limit);
      return rows.map(toNotification);
    },

    /** Sends a failed or dead email again; written in the staff record (kind only) as `actor`'s. */
    async retry(id: string, actor: StaffActor): Promise<Notification> {
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [retried] = await tx
          .update(notifications)
          .set({ status: 'pending', attempts: 0, sendAfter: now, lockedUntil: null })
          .where(and(eq(notifications.id, id), inArray(notifications.status, ['dead', 'failed'])))
          .returning();
        if (retried) {
          await recordStaffAction(tx, now, {
            actor,
            action: 'email.retried',
            subject: retried.id,
            after: { kind: retried.kind, recipient: retried.recipientRole },
          });
        }
        return retried;
      });
      if (row) return toNotification(row);
      const [existing] = await db.select().from(notifications).where(eq(notifications.id, id));
      if (!existing) throw new NotFound(`Notification ${id}`);
      throw new Conflict(
        'not_retryable',
        `This notification is ${existing.status}; only failed or dead ones can be retried.`,
      );
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
