import type { FastifySchemaCompiler } from 'fastify';

/**
 * The validator compiler of routes that check their input themselves, whose schemas are there for
 * /docs: it compiles no validator, so Fastify does not validate these requests at all (a route
 * whose parts have no validator skips validation, fastify/lib/validation.js) rather than calling
 * an identity validator per request (a call, a closure and a result object each time; issue 15,
 * bench/README.md "Hot paths, a ninth pass (hot9b)").
 */
export const docsOnlySchema = (() => undefined) as unknown as FastifySchemaCompiler<unknown>;
