/** The exchange's per-try timeout when the origin's response comes after it: dropped quietly. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { exchange } from '../../src/proxy/upstream-exchange.ts';

afterEach(() => vi.unstubAllGlobals());

describe('exchange, a response that arrives after the per-try timeout', () => {
  it('is a timeout, and its body is cancelled without an unhandled rejection when cancelling fails', async () => {
    let answerLate!: (response: Response) => void;
    vi.stubGlobal('fetch', () => new Promise<Response>((resolve) => (answerLate = resolve)));
    const unhandled: unknown[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => unhandled.push(event.reason);
    addEventListener('unhandledrejection', onUnhandled);
    try {
      const outcome = await exchange({ url: 'http://origin.invalid/slow', method: 'GET', headers: new Headers(), body: null, timeoutMs: 1 });
      expect(outcome).toEqual({ kind: 'origin-failure', failure: 'timeout' });

      // The late body's source refuses to be cancelled, as a body that already failed does.
      let cancelAsked!: () => void;
      const cancelled = new Promise<void>((resolve) => (cancelAsked = resolve));
      const body = new ReadableStream({
        cancel() {
          cancelAsked();
          throw new Error('the body already failed');
        },
      });
      answerLate(new Response(body));
      await cancelled;
      // Rejections are reported after the turn that left them unhandled: let two turns pass.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(unhandled).toEqual([]);
    } finally {
      removeEventListener('unhandledrejection', onUnhandled);
    }
  });
});
