/**
 * One database-backed request per API surface, each with the shape its envelope takes when the
 * database is unreachable (HTTP 503, Retry-After, the surface's own body). Shared by the fault
 * and shutdown tests.
 */
import { expect } from 'vitest';

export interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

export interface Probe {
  name: string;
  send(base: string): Promise<Answer>;
  /** Asserts `a` is this surface's "unavailable" envelope. */
  expectUnavailable(a: Answer): void;
}

async function answer(r: Response): Promise<Answer> {
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text (the assertion says so)
  }
  return { status: r.status, body, retryAfter: r.headers.get('retry-after') };
}

const json = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
  signal: AbortSignal.timeout(30_000),
});
const get = (headers: Record<string, string> = {}) => ({ headers, signal: AbortSignal.timeout(30_000) });

function common(a: Answer) {
  expect(a.status).toBe(503);
  expect(Number(a.retryAfter)).toBeGreaterThan(0);
}

export const probes: Probe[] = [
  {
    name: 'certificates seed',
    send: async (u) => answer(await fetch(`${u}/api/getUserInfo?token=${'a'.repeat(32)}`, get())),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: 4, data: null, message: expect.stringMatching(/temporarily unavailable/) });
    },
  },
  {
    name: 'certificates v2',
    // Public (the admin API counts each presented token as an attempt, and a request cut between
    // reserving and settling it stays counted: under this load the organizer would be limited).
    send: async (u) => answer(await fetch(`${u}/verify/${'A'.repeat(12)}.json`, get())),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/temporarily unavailable/) });
    },
  },
  {
    name: 'accounts',
    send: async (u) => answer(await fetch(`${u}/v1/users/nobody/address`, get({ authorization: 'not-a-session-token-0123456789' }))),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: expect.any(Number), error: expect.stringMatching(/temporarily unavailable/) });
    },
  },
  {
    name: 'miniprogram',
    send: async (u) =>
      answer(await fetch(`${u}/service/user/get`, json('POST', { openid: 'o-probe-openid-0001', token: 'not-a-token-0123456789' }))),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: expect.any(Number), msg: expect.stringMatching(/temporarily unavailable/), data: null });
      expect(a.body.code).not.toBe(0);
    },
  },
  {
    name: 'autoreply v2',
    send: async (u) => answer(await fetch(`${u}/api/v2/autoreply/me`, get({ authorization: 'Bearer not-a-session-token-0123456789' }))),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/temporarily unavailable/) });
    },
  },
  {
    name: 'autoreply seed',
    send: async (u) => answer(await fetch(`${u}/mongodb/show`, get({ cookie: 'ar_session=not-a-session-token-0123456789' }))),
    expectUnavailable(a) {
      common(a);
      expect(a.body).toMatchObject({ code: expect.any(Number), message: expect.stringMatching(/temporarily unavailable/) });
      expect(a.body.code).not.toBe(200);
    },
  },
];
