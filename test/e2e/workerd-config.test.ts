/** The plain-workerd configurations (bench, load, the workerd e2e harness) give the gateway wrangler.toml's bindings. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ASSETS_BINDING, GATEWAY_COMPATIBILITY_FLAGS, GATEWAY_DURABLE_OBJECTS, gatewayWorkerSpec, workerdConfig } from '../../scripts/bench/workerd-config.ts';
import { ROOT } from './harness.ts';

/** The top-level (development) section of wrangler.toml: everything before the first `[env.*]` table. */
const wrangler = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').split(/^\[+env\./m)[0]!;

describe('workerd configurations', () => {
  it('bind every Durable Object class wrangler.toml binds, under the same names', () => {
    const declared = Object.fromEntries(
      [...wrangler.matchAll(/^\[\[durable_objects\.bindings\]\]\s*\nname = "([^"]+)"\s*\nclass_name = "([^"]+)"/gm)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(declared).length).toBeGreaterThan(0);
    expect(GATEWAY_DURABLE_OBJECTS).toEqual(declared);
  });

  it("run the gateway with wrangler.toml's compatibility flags (the bench measures the deployed Worker)", () => {
    const flags = /^compatibility_flags = (\[[^\]]*\])/m.exec(wrangler);
    expect(flags).not.toBeNull();
    expect([...GATEWAY_COMPATIBILITY_FLAGS]).toEqual(JSON.parse(flags![1]!));
    const capnp = workerdConfig(gatewayWorkerSpec({ name: 'g', port: 1, module: 'index.js', text: {}, root: ROOT, storageDir: '/tmp/do' }));
    expect(capnp).toContain(`compatibilityFlags = ${JSON.stringify(GATEWAY_COMPATIBILITY_FLAGS)}`);
  });

  it("serve wrangler.toml's assets directory under its binding", () => {
    const assets = /^\[assets\]\s*\ndirectory = "([^"]+)"[\s\S]*?^binding = "([^"]+)"/m.exec(wrangler);
    expect(assets?.[2]).toBe(GATEWAY_ASSETS_BINDING);
    expect(assets?.[1]).toBe('./public');
    const capnp = workerdConfig(gatewayWorkerSpec({ name: 'g', port: 1, module: 'index.js', text: {}, root: ROOT, storageDir: '/tmp/do' }));
    expect(capnp).toContain(`(name = "${GATEWAY_ASSETS_BINDING}", service = "assets")`);
    expect(capnp).toContain(`disk = (path = ${JSON.stringify(join(ROOT, 'public'))})`);
    for (const [binding, className] of Object.entries(GATEWAY_DURABLE_OBJECTS)) {
      expect(capnp).toContain(`(name = "${binding}", durableObjectNamespace = "${className}")`);
    }
  });
});
