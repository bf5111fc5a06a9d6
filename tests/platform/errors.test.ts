import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('problems and health', () => {
  it('reports healthy with the database reachable', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', database: 'up' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({
      type: 'urn:liaison:problem:route_not_found',
      status: 404,
      code: 'route_not_found',
      instance: '/api/v1/nothing-here',
    });
    expect(response.json().requestId).toEqual(expect.any(String));
  });

  it('answers malformed JSON and a wrong content type with a problem', async () => {
    const headers = { ...(await t.auth('admin')), 'content-type': 'application/json' };
    const malformed = await t.app.inject({ method: 'POST', url: '/api/v1/librarians', headers, payload: '{"email":' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('invalid_body');
    const text = await t.app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: { ...headers, 'content-type': 'application/xml' },
      payload: '<librarian/>',
    });
    expect(text.statusCode).toBe(415);
    expect(text.headers['content-type']).toContain('application/problem+json');
  });

  it('hides the cause of a 500 from the client and gives a request id', async () => {
    const app = await import('../../src/app.js').then(({ buildApp }) =>
      buildApp({ db: t.db, clock: t.clock, config: t.config }),
    );
    app.get('/boom', async () => {
      throw new Error('relation "secret_table" does not exist at /srv/app/src/x.ts:12');
    });
    const response = await app.inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    const problem = response.json();
    expect(problem).toMatchObject({ code: 'internal_error', status: 500 });
    expect(JSON.stringify(problem)).not.toContain('secret_table');
    expect(problem.detail).toContain(problem.requestId);
    await app.close();
  });
});
