/**
 * @module Writes docs/gateway.config.schema.json, the JSON Schema of gateway.config.json (editor completion and
 * validation), and docs/configuration.md, the configuration reference, from the same zod schema the gateway
 * validates with. `npm test` fails when either is out of date.
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.ts';
import { configReferenceMarkdown } from '../src/config/reference.ts';

for (const [file, text] of [
  ['../docs/gateway.config.schema.json', configJsonSchemaText()],
  ['../docs/configuration.md', configReferenceMarkdown()],
] as const) {
  const target = new URL(file, import.meta.url);
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}
