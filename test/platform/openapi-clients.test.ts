/**
 * The OpenAPI document is what the web pages' clients are generated from (scripts/openapi.ts ->
 * web/generated/api-types.ts): where it says less than the routes do, a page would have to cast.
 * These checks hold the document to what the routes accept and answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

type Op = { requestBody?: { required?: boolean; content: Record<string, { schema: { nullable?: boolean } }> } };

describe('OpenAPI document for the generated web clients', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Op>> };
  beforeAll(async () => {
    t = await startTestApp({ dialect: 'sqlite', startJobs: false });
    doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
  });
  afterAll(async () => t?.close());

  it('documents a body the route accepts missing as optional (deleting an address sends none)', async () => {
    const op = doc.paths['/v1/users/{username}/address/{id}'].delete;
    expect(op.requestBody?.required).toBe(false);
    // And the route does accept no body (as the member page sends it): refused only for the session.
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/users/someone/address/1' });
    expect(res.json()).toMatchObject({ code: 10101 });
  });

  it('documents every other request body as required', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.requestBody) continue;
        const nullable = Object.values(op.requestBody.content).every((c) => c.schema?.nullable === true);
        expect(op.requestBody.required, `${method.toUpperCase()} ${path}`).toBe(!nullable);
      }
    }
  });

  it("declares the member id the assistant's sign-in answers (register and login in the seed's envelope)", () => {
    for (const path of ['/account/register', '/account/login']) {
      const schema = (doc.paths[path].post as { responses: Record<string, { content: Record<string, { schema: object }> }> }).responses[
        '200'
      ].content['application/json'].schema;
      expect(JSON.stringify(schema), path).toMatch(/"id":\{"type":"integer"/);
    }
  });
});
