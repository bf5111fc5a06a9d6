import { type Static, Type } from 'typebox';
import { WEBHOOK_EVENT_TYPES } from '../../db/schema.js';
import { Nullable, Uuid } from '../../http/formats.js';

const EventType = Type.Enum([...WEBHOOK_EVENT_TYPES]);
const Url = Type.String({
  minLength: 8,
  maxLength: 2000,
  description:
    'https:// (http:// only for hosts in WEBHOOK_ALLOW_HOSTS). Refused when the host is, or resolves to, a private, loopback or link-local address.',
  examples: ['https://systems.library.example/liaison-hooks'],
});

export const WebhookEndpointInput = Type.Object(
  {
    url: Url,
    events: Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length * 2 }),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type WebhookEndpointInput = Static<typeof WebhookEndpointInput>;

export const WebhookEndpointPatch = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length * 2 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    enabled: Type.Optional(
      Type.Boolean({ description: 'false stops deliveries; true resumes them (and clears a disable)' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type WebhookEndpointPatch = Static<typeof WebhookEndpointPatch>;

export const WebhookEndpoint = Type.Object({
  id: Uuid(),
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(
    Type.String({ description: 'gone (the receiver answered 410), failing (3 days of failures) or admin' }),
  ),
  previousSecretExpiresAt: Nullable(
    Type.String({ format: 'date-time', description: 'Until then the previous secret also signs' }),
  ),
  failingSince: Nullable(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const WebhookEndpointWithSecret = Type.Object({
  ...WebhookEndpoint.properties,
  secret: Type.String({ description: 'whsec_ and 32 random bytes (base64): shown this once; keep it safe' }),
});

export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'The webhook-id header, the same on every attempt' }),
  eventId: Type.Integer({ description: 'The change feed position' }),
  type: Type.String(),
  status: Type.Enum(['pending', 'succeeded', 'dead']),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  lastDurationMs: Nullable(Type.Integer()),
  lastAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  deliveredAt: Nullable(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
});
