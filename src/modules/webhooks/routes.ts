import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { described, Uuid } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
} from './schemas.js';
import type { WebhookService } from './service.js';

const Params = Type.Object({ id: Uuid('The endpoint') });
const notFound = problemResponse('No such endpoint (or delivery)');

export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  const admin = { access: ['admin' as const] };

  app.post(
    '/webhooks',
    {
      config: admin,
      schema: {
        operationId: 'createWebhook',
        summary: 'Register a webhook endpoint',
        tags: ['webhooks'],
        description:
          'Booking changes are POSTed to the URL, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), body {type, timestamp, data} with ids, times and counts only. The signing secret is returned this once.',
        body: WebhookEndpointInput,
        response: { 201: described(WebhookEndpointWithSecret, 'The endpoint and its secret') },
      },
    },
    async (request, reply) => reply.code(201).send(await webhooks.create(request.body, request.user!)),
  );

  app.get(
    '/webhooks',
    {
      config: admin,
      schema: {
        operationId: 'listWebhooks',
        summary: 'List webhook endpoints',
        tags: ['webhooks'],
        response: {
          200: described(Type.Object({ webhooks: Type.Array(WebhookEndpoint) }), 'Every endpoint (no secrets)'),
        },
      },
    },
    async () => ({ webhooks: await webhooks.list() }),
  );

  app.get(
    '/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'getWebhook',
        summary: 'One webhook endpoint',
        tags: ['webhooks'],
        params: Params,
        response: { 200: described(WebhookEndpoint, 'The endpoint (no secret)'), 404: notFound },
      },
    },
    async (request) => webhooks.get(request.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'updateWebhook',
        summary: 'Change a webhook endpoint',
        tags: ['webhooks'],
        description: 'url, events, description, or enabled (true re-enables a disabled endpoint).',
        params: Params,
        body: WebhookEndpointPatch,
        response: { 200: described(WebhookEndpoint, 'The endpoint'), 404: notFound },
      },
    },
    async (request) => webhooks.update(request.params.id, request.body, request.user!),
  );

  app.delete(
    '/webhooks/:id',
    {
      config: admin,
      schema: {
        operationId: 'deleteWebhook',
        summary: 'Remove a webhook endpoint',
        tags: ['webhooks'],
        params: Params,
        response: { 204: { description: 'Removed, with its deliveries', type: 'null' }, 404: notFound },
      },
    },
    async (request, reply) => {
      await webhooks.remove(request.params.id, request.user!);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config: admin,
      schema: {
        operationId: 'rotateWebhookSecret',
        summary: "Replace an endpoint's signing secret",
        tags: ['webhooks'],
        description: 'Returns the new secret once. For 24 hours both secrets sign every request (two v1 signatures).',
        params: Params,
        response: { 200: described(WebhookEndpointWithSecret, 'The endpoint and its new secret'), 404: notFound },
      },
    },
    async (request) => webhooks.rotateSecret(request.params.id, request.user!),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: admin,
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: "An endpoint's deliveries",
        tags: ['webhooks'],
        description: 'Newest first: status, attempts, the last response code and error, timings.',
        params: Params,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Default 100' })) },
          { additionalProperties: false },
        ),
        response: {
          200: described(Type.Object({ deliveries: Type.Array(WebhookDelivery) }), 'The deliveries'),
          404: notFound,
        },
      },
    },
    async (request) => ({ deliveries: await webhooks.deliveries(request.params.id, request.query.limit ?? 100) }),
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/retry',
    {
      config: admin,
      schema: {
        operationId: 'retryWebhookDelivery',
        summary: 'Send a delivery again',
        tags: ['webhooks'],
        description: 'Queues the delivery (even a dead one) to be sent now, with the same webhook-id.',
        params: Type.Object({
          id: Uuid('The endpoint'),
          deliveryId: Type.String({ maxLength: 100, pattern: '^msg_[0-9a-f]{32}$' }),
        }),
        response: { 202: { description: 'Queued', type: 'null' }, 404: notFound },
      },
    },
    async (request, reply) => {
      await webhooks.retry(request.params.id, request.params.deliveryId, request.user!);
      return reply.code(202).send(null);
    },
  );
};
