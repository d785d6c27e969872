/**
 * @module Writes docs/gateway.config.schema.json, the JSON Schema of gateway.config.json (editor completion and
 * validation), from the same zod schema the gateway validates with. `npm test` fails when it is out of date.
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.ts';

const target = new URL('../docs/gateway.config.schema.json', import.meta.url);
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target.pathname}`);
