/** @module The read plane's configuration: recording, access logs and the gateway's own traces. */
import * as z from 'zod';

export const ObservabilitySettingsSchema = z
  .object({
    recording: z
      .boolean()
      .default(true)
      .describe('Record every proxied request (global per-minute sums, Analytics Engine, access log, traces). Off only to measure what recording costs: /metrics then stays at zero.'),
    accessLog: z
      .object({
        level: z
          .enum(['info', 'warn', 'error', 'off'])
          .default('info')
          .describe('Least level written: a request that ended `ok` is info, a refusal (4xx the gateway made) warn, a 5xx error. "off": no access log.'),
        sampleRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.1)
          .describe("Share of `ok` requests logged (each line carries the rate it stands for); warnings and errors are always logged. Exact counts are /metrics' job: a line for every ok request was the largest single cost of the request path (docs/performance.md). 1 logs every request."),
      })
      .strict()
      .default({ level: 'info', sampleRate: 0.1 })
      .describe('One structured JSON line per request on the console, exported by `[observability.logs]`. Never tokens, cookies, paths or query values.'),
    traces: z
      .object({
        sampleRate: z.number().min(0).max(1).default(0.01).describe('Share of requests whose trace is kept when the caller did not ask for it (an incoming `traceparent` with the sampled flag always is).'),
        slowMs: z.number().int().min(1).max(600_000).default(1_000).describe('A request taking at least this long is always kept, as is every 5xx.'),
        keptPerService: z.number().int().min(1).max(1_000).default(200).describe('Most recent traces kept per service by its state object, for `GET /gateway/traces`.'),
      })
      .strict()
      .default({ sampleRate: 0.01, slowMs: 1_000, keptPerService: 200 })
      .describe("The gateway's own sampled traces (spans of its I/O phases), kept per service and shown at `/gateway/traces`."),
  })
  .strict();

export type ObservabilitySettings = z.output<typeof ObservabilitySettingsSchema>;
