import { type Static, Type } from 'typebox';
import { Nullable, Uuid } from '../../http/formats.js';

const Status = Type.Enum(['pending', 'sent', 'failed', 'dead', 'skipped']);

export const Notification = Type.Object({
  id: Uuid(),
  kind: Type.String({ description: 'booking_created, booking_rescheduled, booking_cancelled, companion_*, reminder' }),
  bookingId: Nullable(Uuid()),
  recipientRole: Type.Enum(['student', 'companion', 'librarian']),
  recipientEmail: Type.String(),
  status: Status,
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  sendAfter: Type.String({ format: 'date-time', description: 'Due time (next retry for failed ones)' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
  messageId: Type.String(),
});
export type Notification = Static<typeof Notification>;

export const NotificationList = Type.Object({ notifications: Type.Array(Notification) });

export const NotificationQuery = Type.Object(
  {
    status: Type.Optional(Status),
    bookingId: Type.Optional(Uuid('Only this booking’s notifications')),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  },
  { additionalProperties: false },
);
export type NotificationQuery = Static<typeof NotificationQuery>;
