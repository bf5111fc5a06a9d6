import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described, IdParams } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { CreateLibrarian, Librarian, LibrarianList, LibrarianQuery, UpdateLibrarian } from './schemas.js';
import type { LibrarianService } from './service.js';

export const librarianRoutes: FastifyPluginAsyncTypebox<{ librarians: LibrarianService }> = async (
  app,
  { librarians },
) => {
  app.get(
    '/librarians',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listLibrarians',
        summary: 'List librarians',
        tags: ['librarians'],
        description: 'Active librarians and what they cover, by name; filter by subject or faculty.',
        querystring: LibrarianQuery,
        response: { 200: described(LibrarianList, 'The librarians, by name') },
      },
    },
    async (request) => ({ librarians: await librarians.list(request.user, request.query) }),
  );

  app.get(
    '/librarians/:id',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getLibrarian',
        summary: 'Get a librarian',
        tags: ['librarians'],
        description: "A librarian's public profile (admins and the librarian also see email, meeting link, active).",
        params: IdParams,
        response: {
          200: described(Librarian, 'The librarian'),
          404: problemResponse('No such librarian, or deactivated'),
        },
      },
    },
    async (request) => librarians.get(request.user, request.params.id),
  );

  app.post(
    '/librarians',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'createLibrarian',
        summary: 'Add a librarian',
        tags: ['librarians'],
        description: 'Add a librarian. Their sign-in is linked by email.',
        body: CreateLibrarian,
        response: {
          201: described(Librarian, 'The new librarian'),
          409: problemResponse('A librarian with this email exists (code librarian_exists)'),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await librarians.create(request.body, request.user!)),
  );

  app.patch(
    '/librarians/:id',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'updateLibrarian',
        summary: 'Edit or deactivate a librarian',
        tags: ['librarians'],
        description: 'Edit a librarian, or deactivate one with {"active": false}.',
        params: IdParams,
        body: UpdateLibrarian,
        response: {
          200: described(Librarian, 'The librarian as updated'),
          404: problemResponse('No such librarian'),
          409: problemResponse('Another librarian has this email (code librarian_exists)'),
        },
      },
    },
    async (request) => librarians.update(request.params.id, request.body, request.user!),
  );
};
