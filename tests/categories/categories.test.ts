import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('categories and student profiles', () => {
  it('starts with fee_status and study_level, readable by anyone', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/categories' });
    expect(response.statusCode).toBe(200);
    const dimensions = response.json().dimensions;
    expect(dimensions.map((d: { key: string }) => d.key)).toEqual(['fee_status', 'study_level']);
    expect(dimensions[0].values.map((v: { value: string }) => v.value)).toEqual(['home', 'international']);
    expect(dimensions[1].values.map((v: { value: string }) => v.value)).toEqual([
      'undergraduate',
      'postgraduate_taught',
      'postgraduate_research',
      'staff',
      'other',
    ]);
  });

  it('creates a student on first use from the token, and keeps their categories', async () => {
    const headers = await t.auth('student', { sub: 'idp|s1', email: 'wei@uni.ac.uk', name: 'Wei Zhang' });
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers });
    expect(first.json()).toMatchObject({ name: 'Wei Zhang', email: 'wei@uni.ac.uk', categories: {} });
    const saved = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me',
      headers,
      payload: { categories: { fee_status: 'international', study_level: 'undergraduate' } },
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().id).toBe(first.json().id);
    const renamed = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: await t.auth('student', { sub: 'idp|s1', email: 'wei.zhang@uni.ac.uk', name: 'Wei Zhang' }),
    });
    expect(renamed.json()).toMatchObject({ email: 'wei.zhang@uni.ac.uk', categories: { fee_status: 'international' } });
  });

  it('rejects unknown dimensions and values, naming each', async () => {
    const response = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me',
      headers: await t.auth('student', { sub: 'idp|s2' }),
      payload: { categories: { fee_status: 'alien', shoe_size: '9' } },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/categories/fee_status',
      '/categories/shoe_size',
    ]);
  });

  it('lets only admins redefine the dimensions, refusing duplicates', async () => {
    // Its own app: redefining the dimensions would change what the other tests here see.
    const own = await createTestApp();
    try {
      await redefineIn(own);
    } finally {
      await own.close();
    }
  });

  async function redefineIn(t: TestContext) {
    const dimensions = [
      {
        key: 'fee_status',
        label: 'Fee status',
        values: [
          { value: 'home', label: 'Home' },
          { value: 'international', label: 'International' },
        ],
      },
      {
        key: 'first_generation',
        label: 'First in family at university',
        values: [
          { value: 'yes', label: 'Yes' },
          { value: 'no', label: 'No' },
        ],
      },
    ];
    const asStudent = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/categories',
      headers: await t.auth('student'),
      payload: { dimensions },
    });
    expect(asStudent.statusCode).toBe(403);
    const saved = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/categories',
      headers: await t.auth('admin'),
      payload: { dimensions },
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().dimensions.map((d: { key: string }) => d.key)).toEqual(['fee_status', 'first_generation']);
    const duplicate = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/categories',
      headers: await t.auth('admin'),
      payload: { dimensions: [dimensions[0], dimensions[0]] },
    });
    expect(duplicate.statusCode).toBe(400);
    expect(duplicate.json().errors[0].pointer).toBe('/dimensions/1/key');
  }
});
