import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { EraseRequest, ErasureResult, PersonExport, PersonQuery } from './schemas.js';
import type { PeopleService } from './service.js';

export const peopleRoutes: FastifyPluginAsyncTypebox<{ people: PeopleService }> = async (app, { people }) => {
  app.post(
    '/people/export',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'exportPerson',
        summary: "Export a person's data",
        tags: ['people'],
        description:
          'Everything Liaison holds about one person, found by the email address in the body (never the URL, which logs and proxies keep), as a student and as a friend: student records and categories, the sessions they booked (with their friends as they gave them), invitations they received as a friend, the feedback they gave, the times they waited for (with the friend they named and the offers made), campaign cohorts, the emails sent to them (kind, time and status, not bodies), their sign-in links and sessions. For a subject access request; admins only. The answer is a download (Content-Disposition).',
        body: PersonQuery,
        response: { 200: described(PersonExport, 'The person’s data') },
      },
    },
    async (request, reply) => {
      const data = await people.exportPerson(request.body.email, request.user!);
      reply.header('content-disposition', `attachment; filename="person-data-${data.exportedAt.slice(0, 10)}.json"`);
      reply.header('cache-control', 'private, no-store');
      return data;
    },
  );

  app.post(
    '/people/erase',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'erasePerson',
        summary: 'Erase a person',
        tags: ['people'],
        description:
          "Erasure on request: cancels the person's upcoming bookings (the usual emails to the librarian and friends, naming a student), then, in one transaction, removes their name, email, topics, comments, the friends they named, their links, sessions and emails, from every record and snapshot. Times, categories, attendance and scores stay, so every figure is unchanged. A librarian's or an admin's address is refused (409 staff_email). Signing in again later makes a new student.",
        body: EraseRequest,
        response: {
          200: described(ErasureResult, 'What was erased'),
          409: problemResponse("A librarian's or an admin's address (code staff_email)"),
        },
      },
    },
    async (request) => people.erase(request.body.email, request.user!),
  );
};
