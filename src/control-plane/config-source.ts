/**
 * @module Where an isolate's configuration comes from: the deployed base with the registry's live changes on top.
 * Loaded once when the isolate starts; then the isolate asks the registry for its version at most once per poll
 * interval, in the background, and rebuilds only when it moved. No registry call on the request path after start.
 */
import { baseConfig } from '../config/base-config.ts';
import { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { parseGatewayConfig } from '../config/load.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { Env } from '../env.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { applyOverlay, EMPTY_OVERLAY, type Overlay } from './overlay.ts';
import { mustRefreshBeforeServing, readRegistryNear } from './regional-config.ts';

/** The registry is one object: the control plane's single source of truth, read rarely. */
export const REGISTRY_NAME = 'registry';

export class ConfigSource {
  readonly base: GatewayConfig;
  runtime: GatewayRuntime;
  /** Registry version this isolate runs on (0: no live change). */
  version = 0;
  overlay: Overlay = EMPTY_OVERLAY;
  /** Live changes that could not be applied (refer to services the base no longer has), for /gateway/status. */
  skipped: string[] = [];
  /** Why the last load or merge failed, if it did. */
  lastError: string | undefined;
  /** When the registry was last reached. */
  checkedAt = 0;
  #loaded = false;
  #adoptedVersion = -1;
  /** A background poll is under way (no request awaits it). */
  #polling = false;
  #nextPollAt = 0;

  constructor(base: GatewayConfig) {
    this.base = base;
    this.runtime = new GatewayRuntime(base);
  }

  /**
   * The runtime to serve this request with. Synchronous once loaded (the common case); the first request of an
   * isolate waits for the registry, so a change is in force from an isolate's very first request.
   */
  current(env: Env, waitUntil: (promise: Promise<unknown>) => void): GatewayRuntime | Promise<GatewayRuntime> {
    // Each request that arrives before the first load makes its own call: waiting on another request's promise
    // would resume this request in that request's context, where its I/O fails.
    if (!this.#loaded) return this.#refresh(env, true).then(() => this.runtime);
    const now = Date.now();
    // Location tier: past the staleness bound, refresh before serving (regional-config.ts).
    if (mustRefreshBeforeServing(this.runtime.config.gateway.statePlane, this.checkedAt, now)) return this.#refresh(env, true).then(() => this.runtime);
    // The poll runs under the waitUntil of the request that started it; no other request awaits it.
    if (now >= this.#nextPollAt && !this.#polling) {
      this.#nextPollAt = now + this.runtime.config.gateway.controlPlane.pollIntervalMs;
      this.#polling = true;
      waitUntil(this.#refresh(env, false).finally(() => (this.#polling = false)));
    }
    return this.runtime;
  }

  /** Runs on `overlay` at `version` now, if it merges into a valid configuration (else keeps the current one). */
  adopt(version: number, overlay: Overlay): void {
    // Answers can arrive out of order (several first loads, a poll racing an admin write): never go back.
    if (version <= this.#adoptedVersion) return;
    try {
      const { config, skipped } = applyOverlay(this.base, overlay);
      this.runtime = new GatewayRuntime(parseGatewayConfig(config, `registry version ${version}`));
      this.skipped = skipped;
      this.version = version;
      this.#adoptedVersion = version;
      this.overlay = overlay;
      this.lastError = undefined;
    } catch (error) {
      this.lastError = String(error instanceof Error ? error.message : error);
      console.error(JSON.stringify({ level: 'error', event: 'registry-merge-failed', version, error: this.lastError }));
    }
  }

  async #refresh(env: Env, first: boolean): Promise<void> {
    const timeoutMs = this.runtime.config.gateway.statePlane.callTimeoutMs;
    const registry = () => env.REGISTRY.getByName(REGISTRY_NAME);
    try {
      // Location tier: the region's copy, near this isolate (regional-config.ts); else the registry itself.
      const near = await readRegistryNear(env, this.runtime.config.gateway.statePlane, !first);
      if (near) {
        this.checkedAt = near.checkedAt;
        if (near.version !== this.version) this.adopt(near.version, near.overlay);
        return;
      }
      if (!first) {
        const version = await callDurableObject(registry, (stub) => stub.version(), { kind: 'config-poll', background: true, timeoutMs });
        this.checkedAt = Date.now();
        if (version === this.version) return;
      }
      const snapshot = await callDurableObject(registry, (stub) => stub.snapshot(), { kind: 'config-poll', background: !first, timeoutMs });
      this.checkedAt = Date.now();
      this.adopt(snapshot.version, snapshot.overlay);
    } catch (error) {
      // Serve what we have (the base, on a first load): the registry being down must not take the gateway down.
      this.lastError = `registry unreachable: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      if (first) {
        this.#loaded = true;
        this.#nextPollAt = Date.now() + this.runtime.config.gateway.controlPlane.pollIntervalMs;
      }
    }
  }
}

const sources = new Map<string | undefined, ConfigSource>();

/**
 * This isolate's configuration source for its environment's base configuration.
 * @throws ConfigError when the base configuration is invalid.
 */
export function configSource(env: Env): ConfigSource {
  const key = env.GATEWAY_CONFIG || undefined;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = new ConfigSource(baseConfig(key))));
  return source;
}
