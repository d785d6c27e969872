/**
 * @module Stands in for zod's JSON Schema generator in the deployed bundle (wrangler.toml `[alias]`): its processors
 * (`core/json-schema-processors.js`) and `core/to-json-schema.js`, which zod's classic schemas import for their
 * `toJSONSchema()` and Standard Schema `jsonSchema` methods. The Worker never generates JSON Schema (the configuration
 * schema and the OpenAPI document are built by scripts, with the full zod: vitest and Node do not use this alias), and
 * the generator was about 35 KB of the unminified bundle. Every name the classic schemas use is here; asking the
 * Worker for a JSON Schema throws.
 */
function unavailable(): never {
  throw new Error('JSON Schema generation is not in the Worker bundle (src/build/zod-json-schema-absent.ts)');
}

export const createToJSONSchemaMethod = () => unavailable;
export const createStandardJSONSchemaMethod = () => unavailable;
/** Read by lazy getters (`minLength`, `maxValue`, `isInt`, ...) that the Worker does not use: loud, not wrong. */
export const aggregateChecks = unavailable;
export const anyProcessor = unavailable;
export const arrayProcessor = unavailable;
export const bigintProcessor = unavailable;
export const booleanProcessor = unavailable;
export const catchProcessor = unavailable;
export const customProcessor = unavailable;
export const dateProcessor = unavailable;
export const defaultProcessor = unavailable;
export const enumProcessor = unavailable;
export const fileProcessor = unavailable;
export const functionProcessor = unavailable;
export const intersectionProcessor = unavailable;
export const lazyProcessor = unavailable;
export const literalProcessor = unavailable;
export const mapProcessor = unavailable;
export const nanProcessor = unavailable;
export const neverProcessor = unavailable;
export const nonoptionalProcessor = unavailable;
export const nullProcessor = unavailable;
export const nullableProcessor = unavailable;
export const numberProcessor = unavailable;
export const objectProcessor = unavailable;
export const optionalProcessor = unavailable;
export const pipeProcessor = unavailable;
export const prefaultProcessor = unavailable;
export const promiseProcessor = unavailable;
export const readonlyProcessor = unavailable;
export const recordProcessor = unavailable;
export const setProcessor = unavailable;
export const stringProcessor = unavailable;
export const successProcessor = unavailable;
export const symbolProcessor = unavailable;
export const templateLiteralProcessor = unavailable;
export const transformProcessor = unavailable;
export const tupleProcessor = unavailable;
export const undefinedProcessor = unavailable;
export const unionProcessor = unavailable;
export const unknownProcessor = unavailable;
export const voidProcessor = unavailable;
/** `z.toJSONSchema`, re-exported by zod's classic entry. */
export const toJSONSchema = unavailable;
