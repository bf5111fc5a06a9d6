import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import { areaAccess, knownValue, pageUser } from '../layout/page.js';
import type { Form, StaffPageDeps } from './shared.js';

/**
 * Attendance recorded from a booking's page, by whoever runs the session (the librarian, or an
 * admin); the bookings service decides who may, and the page says so when refused.
 */
export async function attendanceFormRoutes(app: FastifyInstance, deps: StaffPageDeps) {
  areaAccess(app, deps, 'signed-in');

  app.post(
    '/bookings/:id/attendance',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const user = pageUser(request);
      const form = request.body ?? {};
      const student = form.student === 'attended' || form.student === 'no_show' ? form.student : null;
      const companions = Object.entries(form)
        .filter(([name, value]) => name.startsWith('companion_') && (value === 'yes' || value === 'no'))
        .map(([name, value]) => ({ companionId: name.slice('companion_'.length), attended: value === 'yes' }));
      const effort = knownValue(form.effort, ['1', '2', '3', '4', '5', '6']);
      const back = `/bookings/${request.params.id}`;
      if (!student) return reply.redirect(`${back}?notice=attendanceMissing`, 303);
      try {
        await deps.bookings.recordAttendance(
          request.params.id,
          { user, manageToken: null },
          {
            student,
            companions,
            ...(effort ? { effort: Number(effort) } : {}),
          },
        );
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500 || error.status === 404) throw error;
        return reply.redirect(`${back}?notice=attendanceRefused`, 303);
      }
      return reply.redirect(`${back}?notice=attendance`, 303);
    },
  );
}
