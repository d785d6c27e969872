/**
 * @module The `workerd serve` configurations of the bench, the load test and the workerd e2e harness: one builder,
 * so the gateway runs there with the bindings wrangler.toml gives it.
 */

/**
 * The gateway's Durable Object bindings, binding name to class, as wrangler.toml declares them
 * (test/e2e/workerd-config.test.ts checks the two agree).
 */
export const GATEWAY_DURABLE_OBJECTS: Readonly<Record<string, string>> = {
  RATE_LIMITS: 'RateLimitBucket',
  SERVICE_STATE: 'ServiceState',
  REGISTRY: 'ServiceRegistry',
  API_KEYS: 'ApiKeyStore',
  ALERTS: 'AlertManager',
  SERVICE_REGIONS: 'ServiceRegion',
};

/** The binding wrangler.toml's `[assets]` gives the Worker (it reads /docs/admin-api.openapi.json through it). */
export const GATEWAY_ASSETS_BINDING = 'ASSETS';

export interface WorkerSpec {
  /** Service name (the inspector's target name too). */
  name: string;
  port: number;
  /** Path of the ES module bundle, relative to the config file. */
  module: string;
  /** Text bindings. */
  text: Record<string, string>;
  /** Durable Object classes to run in the same process, with SQLite storage in `storageDir` (absolute). */
  durableObjects?: { classes: Readonly<Record<string, string>>; storageDir: string; uniqueKeyPrefix?: string };
  /** A directory served, read-only, as a Fetcher binding (workerd's disk service): the static assets. */
  assets?: { binding: string; directory: string };
  compatibilityFlags?: string[];
}

/**
 * wrangler.toml's `compatibility_flags` (test/e2e/workerd-config.test.ts checks the two agree): the gateway runs
 * with them everywhere, so the bench measures the Worker that is deployed.
 */
export const GATEWAY_COMPATIBILITY_FLAGS: readonly string[] = ['enable_request_signal'];

/**
 * The gateway's spec: its Durable Objects, its static assets (`public/` under `root`) and its compatibility flags,
 * as wrangler.toml has them.
 */
export function gatewayWorkerSpec(options: {
  name: string;
  port: number;
  module: string;
  text: Record<string, string>;
  root: string;
  storageDir: string;
  uniqueKeyPrefix?: string;
  compatibilityFlags?: string[];
}): WorkerSpec {
  return {
    name: options.name,
    port: options.port,
    module: options.module,
    text: options.text,
    durableObjects: {
      classes: GATEWAY_DURABLE_OBJECTS,
      storageDir: options.storageDir,
      ...(options.uniqueKeyPrefix ? { uniqueKeyPrefix: options.uniqueKeyPrefix } : {}),
    },
    assets: { binding: GATEWAY_ASSETS_BINDING, directory: `${options.root.replace(/\/$/, '')}/public` },
    compatibilityFlags: options.compatibilityFlags ?? [...GATEWAY_COMPATIBILITY_FLAGS],
  };
}

/** A capnp config serving `worker` on 127.0.0.1:`port`, with outbound access to local addresses (the origin). */
export function workerdConfig(worker: WorkerSpec): string {
  const objects = worker.durableObjects;
  const prefix = objects?.uniqueKeyPrefix ?? 'bench';
  const bindings = [
    ...Object.entries(worker.text).map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`),
    ...Object.entries(objects?.classes ?? {}).map(([binding, className]) => `(name = "${binding}", durableObjectNamespace = "${className}")`),
    ...(worker.assets ? [`(name = "${worker.assets.binding}", service = "assets")`] : []),
  ];
  const objectConfig = objects
    ? `durableObjectNamespaces = [${Object.values(objects.classes)
        .map((className) => `(className = "${className}", uniqueKey = "${prefix}-${className}", enableSql = true)`)
        .join(', ')}],
  durableObjectStorage = (localDisk = "do-disk"),`
    : '';
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "${worker.name}", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
    ${objects ? `(name = "do-disk", disk = (path = ${JSON.stringify(objects.storageDir)}, writable = true)),` : ''}
    ${worker.assets ? `(name = "assets", disk = (path = ${JSON.stringify(worker.assets.directory)})),` : ''}
  ],
  sockets = [(name = "http", address = "127.0.0.1:${worker.port}", http = (), service = "${worker.name}")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${JSON.stringify(worker.module)})],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ${JSON.stringify(worker.compatibilityFlags ?? [])},
  bindings = [${bindings.join(', ')}],
  ${objectConfig}
  globalOutbound = "net",
);
`;
}
