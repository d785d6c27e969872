/**
 * @module `GET /gateway/traces` and `/gateway/traces/{id}`: the gateway's recent sampled traces, kept per service
 * by the service's state object. Admin only (the /gateway prefix).
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import type { ServicePool } from '../balancing/service-pool.ts';
import type { AppEnv, Env } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import type { TraceQuery } from '../observability/service-traces.ts';
import type { TraceRecord } from '../observability/trace-sampling.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { problems, queryInteger, queryNumber } from './schemas.ts';

const admin = [{ adminBearer: [] }];

const TraceSchema = z.record(z.string(), z.unknown()).openapi('Trace', {
  description: 'One request: ids, service, route, method, status, outcome, start, duration, why it was kept, and its I/O spans (upstream attempts with instance and try number, policy phases).',
});

const TraceFilter = z.object({
  service: z.string().optional().openapi({ description: 'Only this service.' }),
  status: queryInteger(100, 599).optional().openapi({ description: 'Only this status.' }),
  minDurationMs: queryNumber(0).optional().openapi({ description: 'Only requests that took at least this long.' }),
  limit: queryInteger(1, 500).default(50).openapi({ description: 'Most traces returned.' }),
});

/** Asks each service's object; a service whose object does not answer is named in `unavailable`, not fatal. */
async function findIn(env: Env, pools: ServicePool[], query: TraceQuery, timeoutMs: number): Promise<{ traces: TraceRecord[]; unavailable: string[] }> {
  const unavailable: string[] = [];
  const found = await Promise.all(
    pools.map((pool) =>
      callDurableObject(() => env.SERVICE_STATE.getByName(pool.service.name), (stub) => stub.findTraces(query), { kind: 'admin', timeoutMs }).catch(() => {
        unavailable.push(pool.service.name);
        return [];
      }),
    ),
  );
  return { traces: found.flat().sort((a, b) => b.start - a.start), unavailable };
}

export function registerTraceRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/traces',
      operationId: 'listTraces',
      tags: ['Status'],
      summary: 'Recent sampled traces, newest first: every 5xx, every slow request, callers\' sampled traces and a configured share of the rest',
      security: admin,
      request: { query: TraceFilter },
      responses: { 200: { description: 'Traces', content: { 'application/json': { schema: z.object({ traces: z.array(TraceSchema), unavailable: z.array(z.string()) }) } } }, ...problems(400, 401, 403, 404, 503) },
    }),
    async (c) => {
      const { service, status, minDurationMs, limit } = c.req.valid('query');
      const gateway = c.get('gateway');
      let pools = [...gateway.pools.values()];
      if (service !== undefined) {
        const pool = gateway.pools.get(service);
        if (!pool) throw new GatewayError('service-not-found', { service });
        pools = [pool];
      }
      const query: TraceQuery = { limit, ...(status !== undefined && { status }), ...(minDurationMs !== undefined && { minDurationMs }) };
      const { traces, unavailable } = await findIn(c.env, pools, query, gateway.config.gateway.statePlane.callTimeoutMs);
      return c.json({ traces: traces.slice(0, limit), unavailable }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/traces/{id}',
      operationId: 'getTrace',
      tags: ['Status'],
      summary: 'The kept traces of one trace id (32 hex digits) or one X-Request-Id',
      security: admin,
      request: { params: z.object({ id: z.string().min(1).max(200).openapi({ description: 'Trace id or request id.' }) }) },
      responses: { 200: { description: 'Traces with that id', content: { 'application/json': { schema: z.object({ traces: z.array(TraceSchema), unavailable: z.array(z.string()) }) } } }, ...problems(401, 403, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const gateway = c.get('gateway');
      const query: TraceQuery = /^[0-9a-f]{32}$/.test(id) ? { traceId: id } : { requestId: id };
      const { traces, unavailable } = await findIn(c.env, [...gateway.pools.values()], query, gateway.config.gateway.statePlane.callTimeoutMs);
      if (traces.length === 0 && unavailable.length === 0) throw new GatewayError('resource-not-found', { resource: `trace ${id}` });
      return c.json({ traces, unavailable }, 200);
    },
  );
}
