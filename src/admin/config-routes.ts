/**
 * @module Admin endpoints of the configuration as code: export the running configuration, and apply (or dry-run)
 * a whole one in one step through writeRegistry.
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import { ConfigError, formatFieldPath, parseGatewayConfig } from '../config/load.ts';
import { configSource } from '../control-plane/config-source.ts';
import { diffConfigs } from '../control-plane/overlay.ts';
import { etagOf, writeRegistry } from '../control-plane/registry-writes.ts';
import { GatewayError } from '../errors/problem.ts';
import { ConfigChangeSchema, ETagHeader, IfMatchHeader, problems } from './schemas.ts';
import { guardOrigin } from './guard-origin.ts';

const admin = [{ adminBearer: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** Configuration export and import (tag Configuration). */
export function registerConfigRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/config',
      operationId: 'exportConfig',
      tags: ['Configuration'],
      summary: 'Export the running configuration, in the format of gateway.config.json',
      security: admin,
      responses: { 200: { ...json(z.record(z.string(), z.unknown()), 'The merged configuration'), headers: ETagHeader }, ...problems(401, 403) },
    }),
    (c) => {
      c.header('etag', etagOf(configSource(c.env).version));
      return c.json(c.get('gateway').config as unknown as Record<string, unknown>, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/gateway/config',
      operationId: 'applyConfig',
      tags: ['Configuration'],
      summary: 'Apply a whole configuration (or, with dry_run=1, validate it and show the diff)',
      description: 'The body is a configuration in the format of gateway.config.json. It is validated as a whole and applied in one step: every change, or none.',
      security: admin,
      request: {
        headers: IfMatchHeader,
        query: z.object({ dry_run: z.enum(['0', '1', 'true', 'false']).optional().openapi({ param: { name: 'dry_run', in: 'query' } }) }),
        body: { required: true, content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('GatewayConfiguration') } } },
      },
      responses: {
        200: {
          ...json(z.object({ dryRun: z.boolean(), version: z.number().int(), changes: z.array(ConfigChangeSchema) }), 'The changes (applied, unless a dry run)'),
          headers: ETagHeader,
        },
        ...problems(400, 401, 403, 412),
      },
    }),
    async (c) => {
      const dryRun = ['1', 'true'].includes(c.req.valid('query').dry_run ?? '');
      let desired;
      try {
        desired = parseGatewayConfig(c.req.valid('json'), 'the request body');
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new GatewayError('invalid-configuration', { count: error.issues.length }, {
          extensions: { errors: error.issues.map((issue) => ({ path: issue.slice(0, issue.indexOf(': ')), message: issue.slice(issue.indexOf(': ') + 2) })) },
        });
      }
      const current = c.get('gateway').config;
      for (const [s, service] of desired.services.entries()) {
        for (const [i, instance] of service.instances.entries()) {
          const known = current.services.find((x) => x.name === service.name)?.instances.some((x) => x.id === instance.id && x.url === instance.url);
          if (!known) guardOrigin(c, instance.url, formatFieldPath(['services', s, 'instances', i, 'url']));
        }
      }
      if (dryRun) {
        const source = configSource(c.env);
        c.header('etag', etagOf(source.version));
        return c.json({ dryRun: true, version: source.version, changes: diffConfigs(current, desired) }, 200);
      }
      const { body, version } = await writeRegistry(c, { kind: 'apply-config', desired });
      return c.json({ dryRun: false, version, changes: body as z.infer<typeof ConfigChangeSchema>[] }, 200);
    },
  );
}
