/**
 * @module The gateway's own liveness and status endpoints: version, configuration version, uptime, counts and
 * whether the registry and the state plane answer.
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import { version as packageVersion } from '../../package.json';
import { configSource, REGISTRY_NAME } from '../control-plane/config-source.ts';
import { isolateUptimeSeconds } from '../observability/isolate-uptime.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { problems } from './schemas.ts';

const admin = [{ adminBearer: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** Liveness and status (tag Status). */
export function registerStatusRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/health',
      operationId: 'getHealth',
      tags: ['Status'],
      summary: 'Liveness: answers 200 while the gateway serves (no credentials needed, nothing behind it is called)',
      security: [],
      responses: { 200: json(z.object({ status: z.literal('ok'), configVersion: z.number().int() }), 'The gateway is up'), ...problems(400) },
    }),
    (c) => c.json({ status: 'ok' as const, configVersion: configSource(c.env).version }, 200),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/status',
      operationId: 'getStatus',
      tags: ['Status'],
      summary: 'Version, configuration version, uptime, counts and whether the registry and state plane answer',
      security: admin,
      responses: {
        200: json(
          z.object({
            version: z.string(),
            configVersion: z.number().int(),
            uptimeSeconds: z.number(),
            counts: z.object({ services: z.number().int(), routes: z.number().int(), instances: z.number().int() }),
            registry: z.object({ reachable: z.boolean(), latencyMs: z.number().nullable(), lastCheckedAt: z.string().nullable(), lastError: z.string().nullable(), skippedChanges: z.array(z.string()) }),
            statePlane: z.object({ reachable: z.boolean(), latencyMs: z.number().nullable() }),
          }),
          'Status of this isolate',
        ),
        ...problems(401, 403),
      },
    }),
    async (c) => {
      const source = configSource(c.env);
      const { config } = c.get('gateway');
      const timeoutMs = config.gateway.statePlane.callTimeoutMs;
      const probe = async (call: () => Promise<unknown>) => {
        const started = Date.now();
        try {
          await call();
          return { reachable: true, latencyMs: Date.now() - started };
        } catch {
          return { reachable: false, latencyMs: null };
        }
      };
      const first = c.get('gateway').pools.values().next().value!;
      const [registry, statePlane] = await Promise.all([
        probe(() => callDurableObject(() => c.env.REGISTRY.getByName(REGISTRY_NAME), (stub) => stub.version(), { kind: 'admin', timeoutMs })),
        probe(() => callDurableObject(() => c.env.SERVICE_STATE.getByName(first.service.name), (stub) => stub.status(first.statePolicy, 1), { kind: 'admin', timeoutMs })),
      ]);
      return c.json(
        {
          version: packageVersion,
          configVersion: source.version,
          uptimeSeconds: isolateUptimeSeconds(Date.now()),
          counts: {
            services: config.services.length,
            routes: config.services.reduce((n, s) => n + s.routes.length, 0),
            instances: config.services.reduce((n, s) => n + s.instances.length, 0),
          },
          registry: {
            ...registry,
            lastCheckedAt: source.checkedAt ? new Date(source.checkedAt).toISOString() : null,
            lastError: source.lastError ?? null,
            skippedChanges: source.skipped,
          },
          statePlane,
        },
        200,
      );
    },
  );
}
