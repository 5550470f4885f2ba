/**
 * fast-check generators for request bodies of the public API: anything JSON, bodies shaped like the
 * real ones with every field free to be wrong, bodies that are not JSON at all, and multipart forms.
 * Valid-looking bodies matter as much as garbage: they get past validation into the translators.
 */
import fc from 'fast-check';

const MODELS = ['grok-4', 'grok-3', 'grok-4-heavy', 'grok-4-fast', 'grok-imagine-1.0', 'grok-imagine-1.0-video', 'grok-4.1-thinking', 'xai/grok-4'];

/** A value that is usually of the right kind and sometimes anything at all. */
const mostly = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', ' ', '\n\t ', 'hello', '\u0000', '\ud800', '🙂'.repeat(3)));

const contentPart = fc.oneof(
  fc.record({ type: fc.constant('text'), text: mostly(text) }),
  fc.record({ type: fc.constant('image_url'), image_url: mostly(fc.record({ url: mostly(fc.constantFrom('data:image/png;base64,iVBORw0KGgo=', 'https://example.invalid/a.png', 'data:,', 'not a url')) })) }),
  fc.record({ type: fc.constantFrom('input_text', 'output_text', 'tool_use', 'tool_result', 'image', 'input_image', 'file', 'refusal'), text: mostly(text) }, { requiredKeys: ['type'] }),
  fc.jsonValue({ maxDepth: 2 }),
);

const content = fc.oneof(text, fc.array(contentPart, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));

const message = fc.record(
  {
    role: mostly(fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer', 'function')),
    content,
    name: mostly(text),
    tool_call_id: mostly(text),
    tool_calls: mostly(fc.array(fc.record({ id: text, type: fc.constant('function'), function: fc.record({ name: text, arguments: text }) }), { maxLength: 2 })),
  },
  { requiredKeys: ['role', 'content'] },
);

const tool = fc.oneof(
  fc.record({ type: fc.constant('function'), function: mostly(fc.record({ name: mostly(text), description: text, parameters: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['name'] })) }),
  fc.record({ name: mostly(text), description: text, input_schema: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['name'] }),
  fc.record({ type: fc.constantFrom('web_search', 'web_search_preview', 'function', 'x'), name: text }),
);

const num = fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double({ noNaN: false }), fc.constantFrom(0, 1, 2, -1, 1e308));

/** A body shaped like one of the public routes' bodies, every field optional and possibly wrong. */
export const shapedBody = fc.record(
  {
    model: mostly(fc.constantFrom(...MODELS)),
    messages: mostly(fc.array(message, { maxLength: 4 })),
    input: mostly(fc.oneof(text, fc.array(message, { maxLength: 3 }), fc.array(contentPart, { maxLength: 3 }))),
    instructions: mostly(text),
    system: mostly(fc.oneof(text, fc.array(contentPart, { maxLength: 2 }))),
    prompt: mostly(text),
    stream: mostly(fc.boolean()),
    stream_options: mostly(fc.record({ include_usage: fc.boolean() })),
    max_tokens: mostly(num),
    max_output_tokens: mostly(num),
    max_completion_tokens: mostly(num),
    temperature: mostly(num),
    top_p: mostly(num),
    n: mostly(num),
    size: mostly(fc.constantFrom('1024x1024', '1024x1792', '720x1280', '0x0', 'big', '')),
    seconds: mostly(fc.constantFrom('4', '8', '6', '10', '0', 'x')),
    response_format: mostly(fc.oneof(fc.constantFrom('url', 'b64_json', 'x'), fc.record({ type: fc.constantFrom('json_object', 'json_schema', 'text', 'x'), json_schema: fc.jsonValue({ maxDepth: 2 }) }))),
    tools: mostly(fc.array(tool, { maxLength: 2 })),
    tool_choice: mostly(fc.oneof(fc.constantFrom('auto', 'none', 'required', 'any'), fc.record({ type: fc.constantFrom('function', 'tool', 'any'), name: text, function: fc.record({ name: text }) }))),
    reasoning_effort: mostly(fc.constantFrom('low', 'medium', 'high', 'none', '')),
    reasoning: mostly(fc.record({ effort: fc.constantFrom('low', 'high', 'x') })),
    thinking: mostly(fc.record({ type: fc.constantFrom('enabled', 'disabled', 'x'), budget_tokens: num })),
    previous_response_id: mostly(text),
    store: mostly(fc.boolean()),
    metadata: fc.jsonValue({ maxDepth: 2 }),
    user: mostly(text),
  },
  { requiredKeys: [] },
);

const FIELDS = ['messages', 'input', 'instructions', 'system', 'stream_options', 'max_tokens', 'temperature', 'n', 'size', 'response_format', 'tools', 'tool_choice', 'reasoning_effort', 'thinking', 'previous_response_id', 'metadata'] as const;

/**
 * A valid core (a real model, user text, a prompt, a token cap) with at most two fields taken from
 * shapedBody, so most of these get past validation and through the translators to the fake grok.com.
 */
export const nearlyValidBody = fc
  .tuple(
    fc.record({
      model: fc.constantFrom('grok-4', 'grok-3', 'grok-4-fast', 'grok-imagine-1.0'),
      messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant'), content: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.array(fc.record({ type: fc.constant('text'), text: fc.string({ minLength: 1, maxLength: 30 }) }), { minLength: 1, maxLength: 2 })) }), { minLength: 1, maxLength: 3 }).map((m) => [...m, { role: 'user', content: 'fuzz turn' }]),
      input: fc.string({ minLength: 1, maxLength: 30 }),
      prompt: fc.string({ minLength: 1, maxLength: 30 }),
      max_tokens: fc.integer({ min: 1, max: 4096 }),
      stream: fc.boolean(),
    }),
    shapedBody,
    fc.subarray([...FIELDS], { maxLength: 2 }),
  )
  .map(([core, extra, keys]) => {
    const out: Record<string, unknown> = { ...core };
    for (const k of keys) if (k in extra) out[k] = (extra as Record<string, unknown>)[k];
    return out;
  });

export const anyJson = fc.jsonValue({ maxDepth: 4 });

/** Bytes that are mostly not JSON, under a content type that may or may not claim JSON. */
export const rawBody = fc.record({
  body: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('', '{', '{"model":', '[]', 'null', '{"a":1}{', '\u0000\u0001', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}')),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/octet-stream', ''),
});

/** A multipart form for the upload routes: text fields (some of them right) and small files. */
export const formBody = fc.record({
  fields: fc.dictionary(fc.constantFrom('prompt', 'model', 'n', 'size', 'response_format', 'seconds', 'stream', 'x'), fc.oneof(text, fc.constantFrom('grok-imagine-1.0', '1', 'b64_json', 'url'))),
  files: fc.array(
    fc.record({
      field: fc.constantFrom('image', 'image[]', 'file', 'mask', 'input_reference', 'x'),
      name: fc.constantFrom('a.png', 'b.jpg', 'c.txt', '', '../../etc/passwd', 'ü.webp'),
      type: fc.constantFrom('image/png', 'image/jpeg', 'text/plain', 'application/octet-stream', ''),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))),
    }),
    { maxLength: 3 },
  ),
});

export type FuzzBody =
  | { kind: 'shaped' | 'json'; value: unknown }
  | { kind: 'raw'; body: string; contentType: string }
  | { kind: 'form'; fields: Record<string, string>; files: { field: string; name: string; type: string; bytes: Uint8Array }[] };

export const fuzzBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  { weight: 4, arbitrary: shapedBody.map((value) => ({ kind: 'shaped' as const, value })) },
  { weight: 3, arbitrary: nearlyValidBody.map((value) => ({ kind: 'shaped' as const, value })) },
  { weight: 2, arbitrary: anyJson.map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: rawBody.map((r) => ({ kind: 'raw' as const, ...r })) },
  { weight: 1, arbitrary: formBody.map((f) => ({ kind: 'form' as const, ...f })) },
);
