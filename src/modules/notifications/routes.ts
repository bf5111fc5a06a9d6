import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described, IdParams } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { Notification, NotificationList, NotificationQuery } from './schemas.js';
import type { NotificationService } from './service.js';

export const notificationRoutes: FastifyPluginAsyncTypebox<{ notifications: NotificationService }> = async (
  app,
  { notifications },
) => {
  app.get(
    '/notifications',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'listNotifications',
        summary: 'List outbox emails',
        tags: ['notifications'],
        description: 'The email outbox, newest first: filter by status (e.g. dead) or booking.',
        querystring: NotificationQuery,
        response: { 200: described(NotificationList, 'Notifications') },
      },
    },
    async (request) => ({ notifications: await notifications.list(request.query) }),
  );

  app.post(
    '/notifications/:id/retry',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'retryNotification',
        summary: 'Retry a failed email',
        tags: ['notifications'],
        description: 'Send a failed or dead notification again now, with a fresh retry schedule.',
        params: IdParams,
        response: {
          200: described(Notification, 'The notification, pending again'),
          404: problemResponse('No such notification'),
          409: problemResponse('Already sent, pending or skipped (code not_retryable)'),
        },
      },
    },
    async (request) => notifications.retry(request.params.id, request.user!),
  );
};
