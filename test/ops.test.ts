import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { testDialects } from './helpers/db.js';

describe.each(testDialects())('ops endpoints on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ dialect });
  });
  afterAll(async () => t?.close());

  it('answers /healthz with the database it uses', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', database: dialect });
  });

  it('serves Prometheus metrics', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('process_cpu_seconds_total');
  });

  it('serves the OpenAPI document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json().openapi).toMatch(/^3\./);
  });

  it('answers an unknown route with a JSON 404, not a stack trace', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/no/such/route' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });

  it('answers a malformed percent-encoding in a path in the API own envelope, not the router 400', async () => {
    // The accounts seed API: HTTP 200 with its own code (not logged in comes first).
    const accounts = await t.app.inject({ method: 'GET', url: '/v1/users/%ZZ/address' });
    expect(accounts.statusCode).toBe(200);
    expect(accounts.json()).toMatchObject({ code: 10101 });
    // Invalid UTF-8 in a well-formed escape, with a query string that is left as it came.
    const utf8 = await t.app.inject({ method: 'GET', url: '/v1/users/a%C3%28b/address?x=%ZZ' });
    expect(utf8.json()).toMatchObject({ code: 10101 });
    // The mini-program API's envelope, and the path as the client sent it.
    const mp = await t.app.inject({ method: 'POST', url: '/service/user/%ZZ' });
    expect(mp.json()).toMatchObject({ code: -1, data: null });
    expect(mp.json().msg).toContain('/service/user/%ZZ;');
    // The REST API's envelope.
    const v2 = await t.app.inject({ method: 'GET', url: '/api/v2/campaigns/%ZZ' });
    expect(v2.statusCode).toBe(404);
    expect(v2.json()).toEqual({ code: 'not_found', message: 'no route for GET /api/v2/campaigns/%ZZ' });
  });
});
