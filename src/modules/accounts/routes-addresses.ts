/**
 * Address book routes (seed 003): list, add, change, soft-delete, set default. Every path names a
 * user, who must be the token's own (else 10134, nothing read or changed); an address id that is
 * not one of that user's active addresses is 10122. Writes answer the whole list, as the seed's
 * prose says ("全量返回"), next to the seed's `data` message.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AccountsService } from './service.js';
import type { AddressService } from './addresses.js';
import { ACCOUNTS_BODY_LIMIT, requireSession } from './http.js';
import { C, fail } from './errors.js';
import * as s from './schemas.js';

const tags = ['accounts: addresses (seed 003)'];

export function registerAddressRoutes(root: FastifyInstance, deps: { accounts: AccountsService; addresses: AddressService }): void {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { accounts, addresses } = deps;
  const bodyLimit = ACCOUNTS_BODY_LIMIT;

  app.get(
    '/v1/users/:username/address',
    {
      schema: {
        tags,
        summary: "The user's active addresses, default first",
        security: [{ session: [] }],
        params: s.userParams,
        response: { 200: s.addressListAnswer },
      },
    },
    async (req, reply) => {
      const { user } = await requireSession(accounts, req, { pathUser: req.params.username });
      // The hottest route: the list arrives as JSON text and is sent as it is (a string skips the serializer).
      const body = `{"code":200,"addresslist":${await addresses.listJson(user.id)}}`;
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.post(
    '/v1/users/:username/address',
    {
      bodyLimit,
      schema: {
        tags,
        summary:
          'Add an address (receiver_phone, or receiver_mobile: any valid number, mainland ones without +86, others with their + code; tag and postcode optional); the first one becomes the default; at most 20',
        security: [{ session: [] }],
        params: s.userParams,
        body: s.addressBody,
        response: { 200: s.addressListAnswer },
      },
    },
    async (req) => {
      const { user } = await requireSession(accounts, req, { pathUser: req.params.username });
      const b = req.body;
      const phone = pickPhone(b.receiver_phone, b.receiver_mobile);
      if (!phone) throw fail(C.BAD_PHONE, `receiver_phone is required: ${s.PHONE_RULE}`);
      const list = await addresses.add(user.id, {
        receiver: b.receiver,
        address: b.address,
        tag: b.tag,
        postcode: b.postcode,
        receiver_phone: phone,
      });
      return { code: 200 as const, data: '新增地址成功！', addresslist: list };
    },
  );

  app.put(
    '/v1/users/:username/address/:id',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Change any of receiver, address, tag, receiver_phone (or receiver_mobile), postcode',
        security: [{ session: [] }],
        params: s.addressParams,
        body: s.addressPatch,
        response: { 200: s.addressListAnswer },
      },
    },
    async (req) => {
      const { user } = await requireSession(accounts, req, { pathUser: req.params.username });
      const b = req.body;
      if (b.id !== undefined && b.id !== Number(req.params.id))
        throw fail(C.ADDRESS_ID, 'the id in the body differs from the one in the path');
      const phone = pickPhone(b.receiver_phone, b.receiver_mobile);
      const patch = Object.fromEntries(
        Object.entries({
          receiver: b.receiver,
          address: pickAddress(b.address, b.Address),
          tag: b.tag,
          postcode: b.postcode,
          receiver_phone: phone,
        }).filter(([, v]) => v !== undefined),
      );
      if (Object.keys(patch).length === 0)
        throw fail(C.ADDRESS_MODIFY, 'nothing to change: send receiver, address, tag, receiver_phone or postcode');
      const list = await addresses.update(user.id, Number(req.params.id), patch);
      return { code: 200 as const, data: '地址修改成功！', addresslist: list };
    },
  );

  // The seed writes the delete URL as `/v1/users/<username>address/<id>` (no slash): a client
  // built on that text keeps working. The username part uses the username pattern, so the rest
  // of the segment must be exactly "address".
  for (const url of ['/v1/users/:username/address/:id', '/v1/users/:username(^[A-Za-z0-9_][A-Za-z0-9_.-]{2,29})address/:id']) {
    app.delete(
      url,
      {
        bodyLimit,
        schema: {
          tags,
          summary: url.includes('(')
            ? "Delete, at the seed's own spelling of the path (no slash before 'address'); same as the route above"
            : 'Delete (soft: is_active false); a deleted default passes to the newest other address',
          security: [{ session: [] }],
          params: s.addressParams,
          body: s.deleteBody,
          response: { 200: s.addressListAnswer },
        },
      },
      async (req) => {
        const { user } = await requireSession(accounts, req, { pathUser: req.params.username });
        if (req.body?.id !== undefined && req.body.id !== Number(req.params.id))
          throw fail(C.ADDRESS_ID, 'the id in the body differs from the one in the path');
        if (req.body?.username !== undefined && req.body.username !== req.params.username)
          throw fail(C.CANNOT_GET_USER, 'the username in the body differs from the one in the path');
        const list = await addresses.remove(user.id, Number(req.params.id));
        return { code: 200 as const, data: '删除地址成功', addresslist: list };
      },
    );
  }

  app.post(
    '/v1/users/address/:username/default',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Make one address the default (one transaction: clear, then set)',
        security: [{ session: [] }],
        params: s.userParams,
        body: s.defaultBody,
        response: { 200: s.addressListAnswer },
      },
    },
    async (req) => {
      const { user } = await requireSession(accounts, req, { pathUser: req.params.username });
      const list = await addresses.setDefault(user.id, req.body.id);
      return { code: 200 as const, data: '设为默认成功！', addresslist: list };
    },
  );
}

/** receiver_phone and receiver_mobile are the same field under two names; both given must agree. */
function pickPhone(a?: string, b?: string): string | undefined {
  if (a !== undefined && b !== undefined && a !== b) throw fail(C.BAD_PHONE, 'receiver_phone and receiver_mobile differ');
  return a ?? b;
}

/** `address` and the seed table's `Address` are the same field; both given must agree. */
function pickAddress(a?: string, b?: string): string | undefined {
  if (a !== undefined && b !== undefined && a !== b) throw fail(C.BAD_ADDRESS, 'address and Address differ');
  return a ?? b;
}
