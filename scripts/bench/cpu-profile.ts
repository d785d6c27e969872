/**
 * @module The cost ledger: a CPU profile of a Worker under load, taken through workerd's inspector (`workerd serve
 * --inspector-addr`, Chrome DevTools Protocol `Profiler.start`/`stop` over a WebSocket), with every sample charged
 * to the source module of the innermost frame that belongs to the bundle (esbuild marks each module's code with a
 * `// path` comment line), and the modules grouped into the gateway's parts.
 *
 * Samples that no bundle frame covers are the runtime's own work (HTTP, fetch, streams: "(program)" in V8's
 * terms) or garbage collection; idle time is left out. Profiling itself slows the Worker down, so the µs here are
 * larger than without it; the ledger is for telling the parts apart and finding regressions, the CPU per request
 * of the unprofiled processes is the figure to compare with billing.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The part of the request path each source module belongs to: first match wins. */
const PARTS: [part: string, test: RegExp][] = [
  ['routing', /^src\/(routing\/|middleware\/request-context)/],
  ['hygiene', /^src\/policies\/(edge-hygiene|security-headers|cors)/],
  ['auth', /^(src\/policies\/(auth\/|admin-auth)|node_modules\/jose\/)/],
  ['rate_limit', /^src\/(policies\/rate-limit|state\/(clients\/leased-limiter|machines\/token-bucket))/],
  ['concurrency', /^src\/policies\/concurrency-limit/],
  ['breaker', /^src\/(policies\/circuit-breaker|state\/machines\/(breaker-machine|outlier-ejection))/],
  ['recording', /^src\/(state\/(clients\/service-state-client|clients\/sync-service-state|protocol\/service-state-protocol)|observability\/(metrics|window|request-record|request-spans|traffic-sums|trace-sampling|service-tra))/],
  // One console line per sampled request: its own entry, so its cost has a name.
  ['access_log', /^src\/observability\/access-log/],
  ['state_plane_calls', /^src\/state\//],
  ['balancing', /^src\/balancing\//],
  ['header_rewriting', /^src\/proxy\/headers/],
  // The bench's reference Workers are nothing but a forward: their fetch is the floor of the gateway's.
  ['forwarding_and_response_finishing', /^(src\/proxy\/|scripts\/bench\/)/],
  ['tracing_and_ids', /^src\/observability\//],
  ['errors_and_config', /^src\/(errors|config|runtime|control-plane)\//],
  ['hono_dispatch', /^node_modules\/hono\//],
  ['other_gateway_code', /^(src|durable-objects)\//],
  ['other_libraries', /^node_modules\//],
];

/** The module of each line of a bundle, from esbuild's `// path` marker lines. */
export function moduleLines(bundlePath: string): (line: number) => string {
  const starts: { line: number; module: string }[] = [];
  readFileSync(bundlePath, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ ((?:src|node_modules|durable-objects|scripts)\/\S+\.[cm]?[jt]s)$/.exec(text);
      if (match) starts.push({ line, module: match[1]!.replace(/^.*node_modules\//, 'node_modules/') });
    });
  return (line) => {
    let low = 0;
    let high = starts.length - 1;
    let found = '(bundle prelude)';
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (starts[mid]!.line <= line) {
        found = starts[mid]!.module;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  };
}

export function partOf(module: string): string {
  return PARTS.find(([, test]) => test.test(module))?.[0] ?? 'other_gateway_code';
}

/** One DevTools Protocol session over the inspector's WebSocket. */
async function connect(url: string): Promise<{ call: (method: string, params?: object) => Promise<any>; close: () => void }> {
  const socket = new WebSocket(url);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
    else waiter.resolve(message.result);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/**
 * Profiles the Worker named `service` of the workerd whose inspector listens on `inspectorPort` while `load()`
 * runs, and returns the µs of CPU per request of each part (`load` answers the number of requests it made) and of
 * each module.
 */
export async function profileLedger(options: {
  inspectorPort: number;
  service: string;
  bundlePath: string;
  load: () => Promise<number> | number;
}): Promise<{ requests: number; parts: Record<string, number>; modules: Record<string, number>; functions: Record<string, number>; totalUs: number }> {
  const session = await connect(`ws://127.0.0.1:${options.inspectorPort}/${options.service}`);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: 100 });
  await session.call('Profiler.start');
  const requests = await options.load();
  const { profile } = (await session.call('Profiler.stop')) as { profile: Profile };
  session.close();

  const moduleOf = moduleLines(options.bundlePath);
  // The bench's workerd configs load every bundle as the module "index.js".
  const bundleName = 'index.js';
  const parentOf = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node);
  }
  // The module a node's time is charged to: its own frame if it is bundle code, else the nearest bundle frame that
  // called it (a native Headers.set is charged to the module that called it), else the runtime.
  const chargeOf = new Map<number, string | undefined>();
  const charge = (node: ProfileNode): string | undefined => {
    if (chargeOf.has(node.id)) return chargeOf.get(node.id);
    let result: string | undefined;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(root)') result = undefined;
    else if (functionName === '(garbage collector)') result = '(garbage collector)';
    else if (functionName === '(program)') result = '(runtime: HTTP, fetch, streams)';
    else if (url.endsWith(bundleName)) result = moduleOf(lineNumber);
    else {
      const parent = parentOf.get(node.id);
      result = parent && parent.callFrame.functionName !== '(root)' ? charge(parent) : '(runtime: HTTP, fetch, streams)';
    }
    chargeOf.set(node.id, result);
    return result;
  };

  // The function a sample is charged to: the nearest bundle frame, with the native it was in, if any.
  const functionOf = (node: ProfileNode): string => {
    let native = '';
    for (let at: ProfileNode | undefined = node; at; at = parentOf.get(at.id)) {
      const { functionName, url } = at.callFrame;
      if (url === bundleName) return `${moduleOf(at.callFrame.lineNumber)} ${functionName || '(anonymous)'}${native}`;
      if (!native && functionName && !functionName.startsWith('(')) native = ` > ${functionName} (native)`;
    }
    return node.callFrame.functionName;
  };
  const moduleMicros: Record<string, number> = {};
  const functionMicros: Record<string, number> = {};
  profile.samples.forEach((nodeId, i) => {
    const node = byId.get(nodeId)!;
    const module = charge(node);
    if (module === undefined) return;
    const micros = profile.timeDeltas[i] ?? 0;
    moduleMicros[module] = (moduleMicros[module] ?? 0) + micros;
    const name = functionOf(node);
    functionMicros[name] = (functionMicros[name] ?? 0) + micros;
  });
  const perRequest = (micros: number) => Number((micros / Math.max(1, requests)).toFixed(2));
  const parts: Record<string, number> = {};
  const modules: Record<string, number> = {};
  let total = 0;
  for (const [module, micros] of Object.entries(moduleMicros)) {
    const part = module.startsWith('(') ? (module.includes('garbage') ? 'runtime_gc' : 'runtime_native') : partOf(module);
    parts[part] = (parts[part] ?? 0) + micros;
    modules[module] = perRequest(micros);
    total += micros;
  }
  for (const part of Object.keys(parts)) parts[part] = perRequest(parts[part]!);
  const functions = Object.fromEntries(
    Object.entries(functionMicros)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 30)
      .map(([name, micros]) => [name, perRequest(micros)]),
  );
  return { requests, parts, modules, functions, totalUs: perRequest(total) };
}
