/** @module JSON Schema of gateway.config.json, derived from the zod schema so the two can't drift. */
import { z } from 'zod';
import { GatewayConfigSchema } from './schema.ts';

/** The schema as the text checked in at docs/gateway.config.schema.json. */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(GatewayConfigSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'Edge gateway configuration (gateway.config.json)' }, null, 2)}\n`;
}
