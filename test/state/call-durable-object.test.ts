import { describe, expect, it } from 'vitest';
import { callDurableObject } from '../../src/state/call-durable-object.ts';

function failing(flags: { retryable?: boolean; overloaded?: boolean }, failures: number) {
  let calls = 0;
  const operation = async () => {
    calls++;
    if (calls <= failures) throw Object.assign(new Error('boom'), flags);
    return 'ok';
  };
  return { operation, calls: () => calls };
}

const noSleep = { sleep: async () => {} };

describe('callDurableObject', () => {
  it('retries an error the runtime marks retryable, and returns the later success', async () => {
    const { operation, calls } = failing({ retryable: true }, 2);
    expect(await callDurableObject(operation, noSleep)).toBe('ok');
    expect(calls()).toBe(3);
  });

  it('does not retry an overloaded object, even when retryable', async () => {
    const { operation, calls } = failing({ retryable: true, overloaded: true }, 1);
    await expect(callDurableObject(operation, noSleep)).rejects.toThrow('boom');
    expect(calls()).toBe(1);
  });

  it('does not retry an error that is not marked retryable', async () => {
    const { operation, calls } = failing({}, 1);
    await expect(callDurableObject(operation, noSleep)).rejects.toThrow('boom');
    expect(calls()).toBe(1);
  });

  it('gives up after the configured number of attempts', async () => {
    const { operation, calls } = failing({ retryable: true }, 10);
    await expect(callDurableObject(operation, { ...noSleep, attempts: 4 })).rejects.toThrow('boom');
    expect(calls()).toBe(4);
  });

  it('waits a jittered, exponentially growing, capped time between attempts', async () => {
    const waits: number[] = [];
    const { operation } = failing({ retryable: true }, 4);
    await callDurableObject(operation, { attempts: 5, baseDelayMs: 100, maxDelayMs: 300, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toHaveLength(4);
    [100, 200, 300, 300].forEach((cap, i) => {
      expect(waits[i]).toBeGreaterThanOrEqual(0);
      expect(waits[i]).toBeLessThanOrEqual(cap);
    });
  });
});
