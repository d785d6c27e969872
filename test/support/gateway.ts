/** Drives the gateway inside workerd the way the runtime does: a Request, an env, an execution context. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../src/app.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';

const app = createApp();

/**
 * Sends `path` through the gateway with `config` as GATEWAY_CONFIG, reads the whole response, and waits for the
 * background work it started (syncs, probe reports) before returning.
 */
export async function send(
  config: GatewayConfigInput,
  path: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`http://gateway.test${path}`, init),
    { ...env, GATEWAY_CONFIG: JSON.stringify(config), ...overrides },
    ctx,
  );
  // The body may stream through a pipe the execution context waits on: read it before waiting.
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, response);
}
