import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described } from '../../http/formats.js';
import { PersonExport, PersonQuery } from './schemas.js';
import type { PeopleService } from './service.js';

export const peopleRoutes: FastifyPluginAsyncTypebox<{ people: PeopleService }> = async (app, { people }) => {
  app.get(
    '/people/export',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'exportPerson',
        summary: "Export a person's data",
        tags: ['people'],
        description:
          'Everything Liaison holds about one person, found by email, as a student and as a friend: student records and categories, the sessions they booked (with their friends as they gave them), invitations they received as a friend, the feedback they gave, the emails sent to them (kind, time and status, not bodies), their sign-in links and sessions. For a subject access request; admins only. The answer is a download (Content-Disposition).',
        querystring: PersonQuery,
        response: { 200: described(PersonExport, 'The person’s data') },
      },
    },
    async (request, reply) => {
      const data = await people.exportPerson(request.query.email);
      reply.header('content-disposition', 'attachment; filename="person-data.json"');
      reply.header('cache-control', 'private, no-store');
      return data;
    },
  );
};
