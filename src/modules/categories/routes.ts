import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { described } from '../../http/formats.js';
import { problemResponse } from '../../plugins/errors.js';
import { DimensionList, PutProfile, StudentProfile } from './schemas.js';
import type { CategoryService } from './service.js';
import { CohortList, TermList, type TermService } from './terms.js';

export const categoryRoutes: FastifyPluginAsyncTypebox<{ categories: CategoryService; terms: TermService }> = async (
  app,
  { categories, terms },
) => {
  app.get(
    '/categories',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'listCategories',
        summary: 'List category dimensions',
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
        summary: 'Redefine category dimensions',
        tags: ['categories'],
        description: 'Replace the category dimensions and values. Bookings keep the values they were made with.',
        body: DimensionList,
        response: { 200: described(DimensionList, 'The dimensions as saved') },
      },
    },
    async (request) => ({ dimensions: await categories.replaceDimensions(request.body.dimensions, request.user!) }),
  );

  app.get(
    '/me',
    {
      config: { access: ['student'] },
      schema: {
        operationId: 'getMyProfile',
        summary: 'Get my student profile',
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
        summary: 'Set my categories and language',
        tags: ['students'],
        description: "Set the signed-in student's category values; each must be one the admins defined.",
        body: PutProfile,
        response: {
          200: described(StudentProfile, 'The profile as saved'),
          422: problemResponse('A category or value is not defined (code invalid_category)'),
        },
      },
    },
    async (request) => categories.putProfile(request.user!, request.body.categories, request.body.language),
  );

  app.get(
    '/terms',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'listTerms',
        summary: 'List terms',
        tags: ['categories'],
        description: 'Named periods (terms), for uptake by term and cohort sizes.',
        response: { 200: described(TermList, 'Terms, earliest first') },
      },
    },
    async () => ({ terms: await terms.listTerms() }),
  );

  app.put(
    '/terms',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'putTerms',
        summary: 'Replace the terms',
        tags: ['categories'],
        description: 'Replace the terms. A term kept by name keeps its cohort sizes.',
        body: TermList,
        response: { 200: described(TermList, 'The terms as saved') },
      },
    },
    async (request) => ({ terms: await terms.putTerms(request.body.terms, request.user!) }),
  );

  app.get(
    '/cohorts',
    {
      config: { access: ['analyst', 'admin'] },
      schema: {
        operationId: 'listCohorts',
        summary: 'List cohort sizes',
        tags: ['categories'],
        description: 'Enrolled students per term and category value: the denominators of uptake rates.',
        response: { 200: described(CohortList, 'Cohort sizes') },
      },
    },
    async () => ({ cohorts: await terms.listCohorts() }),
  );

  app.put(
    '/cohorts',
    {
      config: { access: ['admin'] },
      schema: {
        operationId: 'putCohorts',
        summary: 'Replace cohort sizes',
        tags: ['categories'],
        description: 'Replace the cohort sizes.',
        body: CohortList,
        response: {
          200: described(CohortList, 'The cohort sizes as saved'),
          422: problemResponse('A cohort names an unknown term or category (code invalid_cohort)'),
        },
      },
    },
    async (request) => ({ cohorts: await terms.putCohorts(request.body.cohorts, request.user!) }),
  );
};
