import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { UUID } from '../layout/forms.js';
import { knownValue, type PageError, pageUser } from '../layout/page.js';
import { type AdminPageDeps, adminContext, type Form } from './shared.js';

const TEAM_NOTICES = ['saved', 'removed'] as const;

/** Teams of librarians that students book as one ("any librarian of the Law team"). */
export async function teamsPages(app: FastifyInstance, deps: AdminPageDeps) {
  const context = adminContext(deps);

  async function render(request: FastifyRequest, reply: FastifyReply, form: Form, errors: PageError[], status = 200) {
    const page = context(request);
    const [teams, librarians, waiting] = await Promise.all([
      deps.pools.listTeams(),
      deps.librarians.list(null, {}),
      deps.waitlist.waitingByPool(),
    ]);
    return reply.code(status).view('admin/teams', {
      ...page,
      title: page.t('admin.teams.title'),
      teams: teams.map((team) => ({
        ...team,
        members: team.librarianIds.map((id) => librarians.find((librarian) => librarian.id === id)?.name ?? id),
      })),
      librarians,
      editing: teams.find((team) => team.id === form.team) ?? null,
      // Who is waiting, for what: librarians by name, subjects and teams.
      waiting: waiting.map((row) => ({
        what: row.pool.startsWith('team:')
          ? (teams.find((team) => `team:${team.id}` === row.pool)?.name ?? row.pool)
          : row.pool.startsWith('librarian:')
            ? (librarians.find((librarian) => `librarian:${librarian.id}` === row.pool)?.name ?? row.pool)
            : row.pool.slice('subject:'.length),
        waiting: row.waiting,
      })),
      form,
      errors,
      notice: knownValue((request.query as Form | undefined)?.notice, TEAM_NOTICES),
    });
  }

  app.get('/admin/teams', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const team = UUID.test(request.query.edit ?? '') ? request.query.edit : undefined;
    const teams = team ? await deps.pools.listTeams() : [];
    const editing = teams.find((one) => one.id === team);
    return render(
      request,
      reply,
      editing
        ? {
            team: editing.id,
            name: editing.name,
            description: editing.description ?? '',
            ...Object.fromEntries(editing.librarianIds.map((id) => [`member_${id}`, 'on'])),
          }
        : {},
      [],
    );
  });

  app.post('/admin/teams', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const page = context(request);
    const form = request.body ?? {};
    const name = (form.name ?? '').trim();
    const description = (form.description ?? '').trim();
    const errors: PageError[] = [];
    if (!name || name.length > 100) errors.push({ field: 'name', message: page.t('admin.teams.nameInvalid') });
    if (description.length > 1000)
      errors.push({ field: 'description', message: page.t('admin.teams.descriptionTooLong') });
    if (errors.length > 0) return render(request, reply, form, errors, 400);
    const librarianIds = Object.keys(form)
      .filter((key) => key.startsWith('member_') && form[key] === 'on')
      .map((key) => key.slice('member_'.length))
      .filter((id) => UUID.test(id));
    const input = { name, description: description || null, librarianIds };
    try {
      if (form.team && UUID.test(form.team)) await deps.pools.updateTeam(pageUser(request), form.team, input);
      else await deps.pools.createTeam(pageUser(request), input);
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      const message = error.code === 'team_exists' ? page.t('admin.teams.exists') : page.t('admin.teams.unknownMember');
      return render(request, reply, form, [{ field: 'name', message }], error.status);
    }
    return reply.redirect('/admin/teams?notice=saved', 303);
  });

  app.post(
    '/admin/teams/:id/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      await deps.pools.removeTeam(pageUser(request), request.params.id);
      return reply.redirect('/admin/teams?notice=removed', 303);
    },
  );
}
