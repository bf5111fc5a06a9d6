import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { problemResponse } from './errors.js';

type RouteSchema = Record<string, unknown> & { response?: Record<string, unknown> };

/**
 * Serves the contract at /docs/json and Swagger UI at /docs, and gives every API route the error
 * responses any route can return, so the document lists them without each route restating them.
 */
export const openapiPlugin = fp(async (app: FastifyInstance, options: { version: string }) => {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/api/') && !route.url.startsWith('/health')) return;
    route.schema ??= {};
    const schema = route.schema as RouteSchema;
    schema.response ??= {};
    const responses = schema.response;
    if (schema.body || schema.querystring || schema.params || schema.headers) {
      responses[400] ??= problemResponse('The request is malformed; `errors` lists each invalid field');
    }
    if (route.url.startsWith('/api/'))
      responses[429] ??= problemResponse('Too many requests; retry after `Retry-After` seconds');
    responses[500] ??= problemResponse('Unexpected server error (details are logged, never returned)');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Liaison API',
        version: options.version,
        description:
          'Book one-to-one sessions with university librarians, with an optional companion ("bring a friend"). ' +
          'Errors are RFC 9457 application/problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'Claims: sub, email, name, role (student | librarian | analyst | admin) or roles[]',
          },
          manageToken: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Manage-Token',
            description: 'The token from a booking email link; also accepted as ?token=',
          },
        },
      },
      tags: [
        { name: 'platform', description: 'Health and service information' },
        { name: 'librarians', description: 'Librarian profiles' },
        { name: 'availability', description: 'Weekly availability, closures, extra hours and bookable slots' },
        { name: 'bookings', description: 'Booking sessions, companions, changes, attendance and the audit trail' },
        { name: 'students', description: "A student's own profile" },
        { name: 'categories', description: 'Category dimensions (e.g. fee status) used for uptake figures' },
        { name: 'calendar', description: 'Invites and librarians’ subscription feeds (iCalendar)' },
        { name: 'calendars', description: "Librarians' own calendars, read for busy time" },
        { name: 'pools', description: 'Any available librarian of a subject or a team' },
        { name: 'waitlist', description: 'Waiting for a time, and the offers when one frees up' },
        { name: 'notifications', description: 'The email outbox, for admins' },
        { name: 'uptake', description: 'Uptake analytics for analysts: aggregates only; imports of past sessions' },
        { name: 'people', description: "A person's data, for admins answering a subject access request" },
        {
          name: 'campaigns',
          description: 'Invitations to book sent to a cohort, randomised against a holdout, and their measured effect',
        },
      ],
    },
  });
  // The UI gets the pages' protections: a strict CSP (its own inline start-up script allowed by
  // hash, as @fastify/swagger-ui computes it), no framing, no referrer, and no call to the outside
  // validator badge.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { validatorUrl: null },
    staticCSP: true,
    transformStaticCSP: (header) =>
      `${header
        .replace(/\s*upgrade-insecure-requests;/, '')
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(' validator.swagger.io', '')
        .replace(/ https:/g, '')} form-action 'self';`,
    uiHooks: {
      onRequest: async (_request, reply) => {
        reply.header('x-frame-options', 'DENY');
        reply.header('referrer-policy', 'no-referrer');
        reply.header('cross-origin-opener-policy', 'same-origin');
        reply.header('cross-origin-resource-policy', 'same-origin');
      },
    },
  });
});
