/** @module Admin endpoint of the audit log: who changed what in the registry, newest first. */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import type { AuditEntry } from '../../durable-objects/service-registry.ts';
import { REGISTRY_NAME } from '../control-plane/config-source.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { AuditEntrySchema, problems, queryInteger } from './schemas.ts';

const admin = [{ adminBearer: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The audit log (tag Configuration). */
export function registerAuditRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/audit',
      operationId: 'listAudit',
      tags: ['Configuration'],
      summary: 'Who changed what, newest first',
      security: admin,
      request: {
        query: z.object({
          limit: queryInteger(1, 500).default(50).openapi({ param: { name: 'limit', in: 'query' } }),
          before: queryInteger(1).optional().openapi({ param: { name: 'before', in: 'query' }, description: 'Page back from this entry id.' }),
        }),
      },
      responses: { 200: json(z.object({ entries: z.array(AuditEntrySchema) }), 'Audit entries'), ...problems(400, 401, 403, 503) },
    }),
    async (c) => {
      const { limit, before } = c.req.valid('query');
      const entries = await callDurableObject(
        () => c.env.REGISTRY.getByName(REGISTRY_NAME),
        // The entries' before/after are arbitrary JSON, which the RPC types cannot follow.
        (stub) => stub.audit(limit, before) as unknown as Promise<AuditEntry[]>,
        { kind: 'admin', timeoutMs: c.get('gateway').config.gateway.statePlane.callTimeoutMs },
      );
      return c.json({ entries: entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })) }, 200);
    },
  );
}
