import { describe, expect, it } from 'vitest';
import { callDurableObject, StateCallTimeout } from '../../../src/state/clients/call-durable-object.ts';
import { statePlaneCounters } from '../../../src/state/infra/state-plane-metrics.ts';

const error = (props: { retryable?: boolean; overloaded?: boolean }) => Object.assign(new Error('object error'), props);
const options = { kind: 'admin' as const, timeoutMs: 1_000, baseDelayMs: 1 };

describe('callDurableObject', () => {
  it('retries a retryable error with a fresh stub, and succeeds', async () => {
    let stubs = 0;
    let calls = 0;
    const result = await callDurableObject(
      () => ++stubs,
      async (stub) => {
        calls += 1;
        if (calls < 3) throw error({ retryable: true });
        return `stub ${stub}`;
      },
      options,
    );
    expect(result).toBe('stub 3');
  });

  it('never retries an overloaded object', async () => {
    let calls = 0;
    await expect(
      callDurableObject(() => 0, async () => { calls += 1; throw error({ retryable: true, overloaded: true }); }, options),
    ).rejects.toThrow('object error');
    expect(calls).toBe(1);
  });

  it('never retries an error not marked retryable', async () => {
    let calls = 0;
    await expect(callDurableObject(() => 0, async () => { calls += 1; throw error({}); }, options)).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('gives up after the attempts and counts the failure', async () => {
    const before = statePlaneCounters.failures.admin;
    let calls = 0;
    await expect(
      callDurableObject(() => 0, async () => { calls += 1; throw error({ retryable: true }); }, { ...options, attempts: 4 }),
    ).rejects.toThrow();
    expect(calls).toBe(4);
    expect(statePlaneCounters.failures.admin).toBe(before + 1);
  });

  it('fails a call that does not answer in time, without retrying it', async () => {
    let calls = 0;
    await expect(
      callDurableObject(() => 0, () => { calls += 1; return new Promise(() => {}); }, { ...options, timeoutMs: 20 }),
    ).rejects.toBeInstanceOf(StateCallTimeout);
    expect(calls).toBe(1);
  });
});
