import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { DimensionList, PutProfile, StudentProfile } from './schemas.js';
import type { CategoryService } from './service.js';

export const categoryRoutes: FastifyPluginAsyncTypebox<{ categories: CategoryService }> = async (
  app,
  { categories },
) => {
  app.get(
    '/categories',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listCategories',
        tags: ['categories'],
        description: 'The category dimensions students describe themselves by, and their allowed values.',
        response: { 200: described(DimensionList, 'Dimensions in display order') },
      },
    },
    async () => ({ dimensions: await categories.listDimensions() }),
  );

  app.put(
    '/categories',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'putCategories',
        tags: ['categories'],
        description: 'Replace the category dimensions and values. Bookings keep the values they were made with.',
        body: DimensionList,
        response: { 200: described(DimensionList, 'The dimensions as saved') },
      },
    },
    async (request) => ({ dimensions: await categories.replaceDimensions(request.body.dimensions) }),
  );

  app.get(
    '/me',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'getMyProfile',
        tags: ['students'],
        description: "The signed-in student's profile (name and email come from the sign-in).",
        response: { 200: described(StudentProfile, 'The profile') },
      },
    },
    async (request) => categories.getProfile(request.user!),
  );

  app.put(
    '/me',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'putMyProfile',
        tags: ['students'],
        description: "Set the signed-in student's category values; each must be one the admins defined.",
        body: PutProfile,
        response: {
          200: described(StudentProfile, 'The profile as saved'),
          422: problemResponse('A category or value is not defined (code invalid_category)'),
        },
      },
    },
    async (request) => categories.putProfile(request.user!, request.body.categories),
  );
};
