import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Validates bodies and SSE payloads against the official OpenAI OpenAPI document, kept gzipped in
 * test/fixtures/openai-openapi/ (where it came from is in the README there). The spec marks nullability the OpenAPI 3.0 way
 * (`nullable: true`) and puts `discriminator` on anyOf; both are rewritten so that a plain JSON
 * Schema 2020-12 validator reads them as the API means them.
 */
const here = dirname(fileURLToPath(import.meta.url));
const SPEC_PATH = process.env.OPENAI_SPEC ?? resolve(here, '../fixtures/openai-openapi/openai-openapi.json.gz');

/** The official OpenAI OpenAPI document, parsed (OPENAI_SPEC overrides where it is looked for). */
export function loadOpenAiSpec<T = { components: Json }>(): T {
  if (!existsSync(SPEC_PATH)) {
    throw new Error(`The OpenAI spec is not at ${SPEC_PATH}; OPENAI_SPEC=/path/to/openai-openapi.json(.gz) points elsewhere.`);
  }
  const raw = readFileSync(SPEC_PATH);
  return JSON.parse((SPEC_PATH.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as T;
}

type Json = Record<string, unknown>;

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite);
  if (!node || typeof node !== 'object') return node;
  const obj: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'discriminator' || k === 'nullable') continue;
    obj[k] = rewrite(v);
  }
  if ((node as Json).nullable === true) {
    if (typeof obj.type === 'string') obj.type = [obj.type, 'null'];
    else if (Array.isArray(obj.type)) obj.type = [...obj.type, 'null'];
    else return { anyOf: [obj, { type: 'null' }] };
    if (Array.isArray(obj.enum) && !obj.enum.includes(null)) obj.enum = [...obj.enum, null];
  }
  return obj;
}

let ajv: Ajv2020 | null = null;
const compiled = new Map<string, ValidateFunction>();

function validator(schemaName: string): ValidateFunction {
  if (!ajv) {
    const spec = loadOpenAiSpec();
    ajv = new Ajv2020({ strict: false, allErrors: true });
    const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    for (const f of ['unixtime', 'int64', 'int32', 'double', 'float', 'binary']) ajv.addFormat(f, true);
    ajv.addSchema({ $id: 'oa', components: rewrite(spec.components) as Json });
  }
  let v = compiled.get(schemaName);
  if (!v) {
    v = ajv.compile({ $ref: `oa#/components/schemas/${schemaName}` });
    compiled.set(schemaName, v);
  }
  return v;
}

/** Throws with the validator's messages when `value` does not match the named schema. */
export function expectValid(schemaName: string, value: unknown): void {
  const v = validator(schemaName);
  if (!v(value)) {
    const detail = (v.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
    throw new Error(`${schemaName} validation failed: ${detail}\n${JSON.stringify(value).slice(0, 800)}`);
  }
}
