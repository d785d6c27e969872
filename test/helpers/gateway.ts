/** Sends requests through the whole gateway (createApp) inside workerd, with a configuration and secrets. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../src/app.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';

const app = createApp();

export type Send = (path: string, init?: RequestInit & { base?: string }) => Promise<Response>;

/**
 * A `send(path, init)` for `config` with `secrets` in the environment. The response body is read before the
 * execution context is awaited (bodies stream through pipes it waits on), and handed back whole.
 */
export function gatewayFor(config: GatewayConfigInput, secrets: Partial<Record<string, string>> = {}): Send {
  const environment = { ...env, ...secrets, GATEWAY_CONFIG: JSON.stringify(config) } as Env;
  return async (path, init = {}) => {
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`${init.base ?? 'http://gateway.test'}${path}`, init), environment, ctx);
    const body = await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return new Response(response.status === 204 || response.status === 101 ? null : body, response);
  };
}

/** The problem type of a problem+json body, without the URN prefix. */
export async function problemType(response: Response): Promise<string> {
  const body = (await response.clone().json()) as { type?: string };
  return (body.type ?? '').replace('urn:edge-gateway:problem:', '');
}
