/**
 * @module The alerts API: alerts and their lifecycle, alert rules, notification channels (secrets write-only),
 * statistics and a test alert. Rules and channels from gateway.config.json are shown too, marked `source: "config"`.
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import type { Context } from 'hono';
import { ChannelSchema, channelUrls, publicChannel, type Channel } from '../alerting/channel-config.ts';
import { ALERTS_NAME, effectiveChannels, effectiveRules } from '../alerting/evaluator.ts';
import type { Alert } from '../alerting/lifecycle.ts';
import { evaluationCounters } from '../alerting/metrics-reader.ts';
import { notificationFor } from '../alerting/notification.ts';
import { AlertRuleSchema, DEFAULT_RULES, SEVERITIES } from '../alerting/rules.ts';
import { originUrlProblem } from '../control-plane/origin-guard.ts';
import { actorOf } from '../control-plane/registry-writes.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { problems, queryInteger } from './schemas.ts';

const admin = [{ adminBearer: [] }];
const tags = ['Alerts'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
const Name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

const AlertSchema = z
  .object({
    id: z.string(),
    rule: z.string(),
    service: z.string(),
    severity: z.enum(SEVERITIES),
    status: z.enum(['active', 'acknowledged', 'resolved']),
    value: z.number(),
    threshold: z.number(),
    message: z.string(),
    firedAt: z.number().openapi({ description: 'Epoch ms' }),
    acknowledgedAt: z.number().optional(),
    acknowledgedBy: z.string().optional(),
    resolvedAt: z.number().optional(),
    resolvedBy: z.string().optional(),
  })
  .openapi('Alert');
const DeliverySchema = z.object({ at: z.number(), channel: z.string(), kind: z.string(), attempt: z.number().int(), ok: z.boolean(), status: z.number().int().nullable(), detail: z.string() });
const IdParam = z.object({ id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const NameParam = z.object({ name: Name.openapi({ param: { name: 'name', in: 'path' } }) });
const RuleOut = z.record(z.string(), z.unknown()).openapi('AlertRule');
const ChannelOut = z.record(z.string(), z.unknown()).openapi('NotificationChannel');

function store(c: Context<AppEnv>) {
  return <T>(operation: (stub: DurableObjectStub<import('../../durable-objects/alert-manager.ts').AlertManager>) => Promise<T>) =>
    callDurableObject(() => c.env.ALERTS.getByName(ALERTS_NAME), operation, { kind: 'admin', timeoutMs: c.get('gateway').config.gateway.statePlane.callTimeoutMs });
}

function changed(result: Alert | 'not-found' | 'conflict', id: string, action: string, current?: string): Alert {
  if (result === 'not-found') throw new GatewayError('resource-not-found', { resource: `alert "${id}"` });
  if (result === 'conflict') throw new GatewayError('alert-state-conflict', { id, status: current ?? 'resolved', action });
  return result;
}

/** The guard instance URLs pass, for channel URLs: the gateway will POST to them. */
function checkChannelUrls(c: Context<AppEnv>, channel: Channel): void {
  const { controlPlane } = c.get('gateway').config.gateway;
  const errors = channelUrls(channel)
    .map((url) => originUrlProblem(url, { allowedHosts: controlPlane.allowedOriginHosts, allowPrivateAddresses: controlPlane.allowPrivateOriginAddresses }))
    .filter((problem): problem is string => problem !== undefined)
    .map((message) => ({ path: channel.type === 'email' || channel.type === 'sms' ? 'apiUrl' : 'url', message }));
  if (errors.length > 0) throw new GatewayError('invalid-request', { count: errors.length }, { extensions: { errors } });
}

export function registerAlertRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/alerts',
      operationId: 'listAlerts',
      tags,
      summary: 'Alerts, newest first',
      security: admin,
      request: {
        query: z.object({
          status: z.enum(['active', 'acknowledged', 'resolved']).optional(),
          severity: z.enum(SEVERITIES).optional(),
          service: Name.optional(),
          limit: queryInteger(1, 1000).default(100),
        }),
      },
      responses: { 200: json(z.object({ alerts: z.array(AlertSchema) }), 'Alerts'), ...problems(400, 401, 403, 503) },
    }),
    async (c) => c.json({ alerts: await store(c)((stub) => stub.list(c.req.valid('query'))) }, 200),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/alerts/{id}',
      operationId: 'getAlert',
      tags,
      summary: 'One alert, with every delivery attempt',
      security: admin,
      request: { params: IdParam },
      responses: { 200: json(AlertSchema.extend({ deliveries: z.array(DeliverySchema) }), 'The alert'), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const alert = await store(c)((stub) => stub.get(id));
      if (!alert) throw new GatewayError('resource-not-found', { resource: `alert "${id}"` });
      return c.json(alert, 200);
    },
  );

  for (const action of ['acknowledge', 'resolve'] as const) {
    api.openapi(
      createRoute({
        method: 'post',
        path: `/alerts/alerts/{id}/${action}`,
        operationId: `${action}Alert`,
        tags,
        summary: action === 'acknowledge' ? 'Acknowledge an active alert' : 'Resolve an alert by hand',
        security: admin,
        request: { params: IdParam },
        responses: { 200: json(AlertSchema, 'The updated alert'), ...problems(400, 401, 403, 404, 409) },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        const call = store(c);
        const result: Alert | 'not-found' | 'conflict' = await call(async (stub) =>
          (action === 'acknowledge' ? await stub.acknowledge(id, actorOf(c)) : await stub.resolve(id, actorOf(c))) as Alert | 'not-found' | 'conflict',
        );
        const current = result === 'conflict' ? (await call((stub) => stub.get(id)))?.status : undefined;
        return c.json(changed(result, id, action === 'acknowledge' ? 'acknowledged' : 'resolved', current), 200);
      },
    );
  }

  api.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/alert-rules',
      operationId: 'listAlertRules',
      tags,
      summary: 'The rules in force: built-in, from the configuration, and added here',
      security: admin,
      responses: { 200: json(z.object({ rules: z.array(RuleOut) }), 'Rules'), ...problems(401, 403) },
    }),
    async (c) => {
      const { config } = c.get('gateway');
      const stored = await store(c)((stub) => stub.rules());
      const storedNames = new Set(stored.map((rule) => rule.name));
      const configNames = new Set(config.gateway.alerting.rules.map((rule) => rule.name));
      const rules = effectiveRules(config, stored).map((rule) => ({
        ...rule,
        source: storedNames.has(rule.name) ? 'api' : configNames.has(rule.name) ? 'config' : DEFAULT_RULES.some((entry) => entry.name === rule.name) ? 'default' : 'config',
      }));
      return c.json({ rules }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/alerts/alert-rules',
      operationId: 'createAlertRule',
      tags,
      summary: 'Add a rule',
      security: admin,
      request: { body: body(AlertRuleSchema) },
      responses: { 201: json(RuleOut, 'The rule'), ...problems(400, 401, 403, 409) },
    }),
    async (c) => {
      const rule = c.req.valid('json');
      // Checked and written in one step inside the object, so of two concurrent creations one gets 409.
      const { created } = await store(c)((stub) => stub.putRule(rule, actorOf(c), { createOnly: true }));
      if (!created) throw new GatewayError('resource-exists', { resource: `alert rule "${rule.name}"` });
      return c.json({ ...rule, source: 'api' }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/alerts/alert-rules/{name}',
      operationId: 'putAlertRule',
      tags,
      summary: 'Create or replace a rule (a built-in or configured one of that name is overridden)',
      security: admin,
      request: { params: NameParam, body: body(AlertRuleSchema) },
      responses: { 200: json(RuleOut, 'The rule'), ...problems(400, 401, 403) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const rule = c.req.valid('json');
      if (rule.name !== name) throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'name', message: `expected "${name}", the name in the path` }] } });
      await store(c)((stub) => stub.putRule(rule, actorOf(c)));
      return c.json({ ...rule, source: 'api' }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/alerts/alert-rules/{name}',
      operationId: 'deleteAlertRule',
      tags,
      summary: 'Delete a rule added through the API',
      security: admin,
      request: { params: NameParam },
      responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      if (!(await store(c)((stub) => stub.deleteRule(name, actorOf(c))))) throw new GatewayError('resource-not-found', { resource: `alert rule "${name}" added through the API` });
      return c.body(null, 204);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/notification-channels',
      operationId: 'listNotificationChannels',
      tags,
      summary: 'Channels (secrets are never shown, only whether one is set)',
      security: admin,
      responses: { 200: json(z.object({ channels: z.array(ChannelOut) }), 'Channels'), ...problems(401, 403) },
    }),
    async (c) => {
      const { config } = c.get('gateway');
      const stored = await store(c)((stub) => stub.channels());
      const storedNames = new Set(stored.map((channel) => channel.name));
      const channels = effectiveChannels(config, stored).map((channel) => ({ ...publicChannel(channel), source: storedNames.has(channel.name) ? 'api' : 'config' }));
      return c.json({ channels }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/alerts/notification-channels',
      operationId: 'putNotificationChannel',
      tags,
      summary: 'Add or replace a channel; its URL must pass the origin-address guard',
      security: admin,
      request: { body: body(ChannelSchema) },
      responses: { 201: json(ChannelOut, 'The channel, secrets hidden'), ...problems(400, 401, 403) },
    }),
    async (c) => {
      const channel = c.req.valid('json');
      checkChannelUrls(c, channel);
      await store(c)((stub) => stub.putChannel(channel, actorOf(c)));
      return c.json({ ...publicChannel(channel), source: 'api' }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/alerts/notification-channels/{name}',
      operationId: 'deleteNotificationChannel',
      tags,
      summary: 'Delete a channel added through the API',
      security: admin,
      request: { params: NameParam },
      responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      if (!(await store(c)((stub) => stub.deleteChannel(name, actorOf(c))))) throw new GatewayError('resource-not-found', { resource: `notification channel "${name}" added through the API` });
      return c.body(null, 204);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/statistics',
      operationId: 'getAlertStatistics',
      tags,
      summary: 'Counts by severity, status and rule; mean time to acknowledge and to resolve; deliveries',
      security: admin,
      responses: { 200: json(z.record(z.string(), z.unknown()), 'Statistics'), ...problems(401, 403) },
    }),
    async (c) => c.json({ ...(await store(c)((stub) => stub.statistics())), evaluation: { ...evaluationCounters } }, 200),
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/alerts/test-alert',
      operationId: 'sendTestAlert',
      tags,
      summary: 'Send a test alert through the named channels (through the queue, like any alert)',
      security: admin,
      request: { body: body(z.object({ severity: z.enum(SEVERITIES).default('info'), channels: z.array(Name).min(1).max(10) }).strict()) },
      responses: { 202: json(z.object({ alert: AlertSchema, enqueued: z.array(z.string()) }), 'Enqueued'), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { severity, channels: names } = c.req.valid('json');
      const call = store(c);
      const channels = effectiveChannels(c.get('gateway').config, await call((stub) => stub.channels()));
      const missing = names.filter((name) => !channels.some((channel) => channel.name === name));
      if (missing.length > 0) throw new GatewayError('resource-not-found', { resource: `notification channel "${missing[0]}"` });
      const alert = await call((stub) => stub.recordTestAlert(severity, actorOf(c)));
      const notifications = names.map((name) => notificationFor(alert, 'test', name));
      await call((stub) => stub.sendNotifications(notifications));
      return c.json({ alert, enqueued: names }, 202);
    },
  );
}
