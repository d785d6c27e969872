/** Drives the whole gateway (createApp) inside workerd the way the runtime does: a Request, an env, a context. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../src/app.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';

const app = createApp();

/** The ADMIN_TOKEN every gateway started by these helpers has. */
export const TEST_ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
/** Headers that open the admin API. */
export const ADMIN_HEADERS = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/**
 * `config` with the read plane's trailing flush off unless the test sets it: these helpers wait for all background
 * work of a request, and a trailing flush waits out the sync interval (test/observability/ and the e2e tests cover it).
 */
function withoutTrailingFlush(config: GatewayConfigInput): GatewayConfigInput {
  const statePlane = config.gateway?.statePlane;
  if (statePlane?.trailingFlush !== undefined) return config;
  return { ...config, gateway: { ...config.gateway, statePlane: { ...statePlane, trailingFlush: false } } };
}

export type Send = (path: string, init?: RequestInit & { base?: string }) => Promise<Response>;

async function dispatch(request: Request, environment: Env): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, environment, ctx);
  // The body may stream through a pipe the execution context waits on: read it before waiting.
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(response.status === 204 || response.status === 101 ? null : body, response);
}

/**
 * A `send(path, init)` for `config` with `secrets` in the environment, reading each response whole and waiting
 * for the background work it started (syncs, probe reports) before returning.
 */
export function gatewayFor(config: GatewayConfigInput, secrets: Partial<Record<string, string>> = {}): Send {
  const environment = { ...env, ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...secrets, GATEWAY_CONFIG: JSON.stringify(withoutTrailingFlush(config)) } as Env;
  return (path, init = {}) => dispatch(new Request(`${init.base ?? 'http://gateway.test'}${path}`, init), environment);
}

/** One request through the gateway running `config`, with `overrides` of the environment (a failing binding, say). */
export function send(config: GatewayConfigInput, path: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const environment = { ...env, ADMIN_TOKEN: TEST_ADMIN_TOKEN, GATEWAY_CONFIG: JSON.stringify(withoutTrailingFlush(config)), ...overrides } as Env;
  return dispatch(new Request(`http://gateway.test${path}`, init), environment);
}

/** `init` with the admin credentials added. */
export function asAdmin(init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...Object.fromEntries(new Headers(init.headers)), ...ADMIN_HEADERS } };
}

/** The problem type of a problem+json body, without the URN prefix. */
export async function problemType(response: Response): Promise<string> {
  const body = (await response.clone().json()) as { type?: string };
  return (body.type ?? '').replace('urn:edge-gateway:problem:', '');
}
