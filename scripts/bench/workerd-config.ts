/** @module The `workerd serve` configurations of the bench: one process per Worker, so each has its own CPU figure. */

export interface WorkerSpec {
  /** Service name (the inspector's target name too). */
  name: string;
  port: number;
  /** Path of the ES module bundle, relative to the config file. */
  module: string;
  /** Text bindings. */
  text: Record<string, string>;
  /** Durable Object classes to run in the same process, with SQLite storage in `storageDir`. */
  durableObjects?: { classes: Record<string, string>; storageDir: string };
}

/** A capnp config serving `worker` on 127.0.0.1:`port`, with outbound access to local addresses (the origin). */
export function workerdConfig(worker: WorkerSpec): string {
  const objects = worker.durableObjects;
  const bindings = [
    ...Object.entries(worker.text).map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`),
    ...Object.entries(objects?.classes ?? {}).map(([binding, className]) => `(name = "${binding}", durableObjectNamespace = "${className}")`),
  ];
  const objectConfig = objects
    ? `durableObjectNamespaces = [${Object.values(objects.classes)
        .map((className) => `(className = "${className}", uniqueKey = "bench-${className}", enableSql = true)`)
        .join(', ')}],
  durableObjectStorage = (localDisk = "do-disk"),`
    : '';
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "${worker.name}", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
    ${objects ? `(name = "do-disk", disk = (path = ${JSON.stringify(objects.storageDir)}, writable = true)),` : ''}
  ],
  sockets = [(name = "http", address = "127.0.0.1:${worker.port}", http = (), service = "${worker.name}")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${JSON.stringify(worker.module)})],
  compatibilityDate = "2026-11-01",
  bindings = [${bindings.join(', ')}],
  ${objectConfig}
  globalOutbound = "net",
);
`;
}
