import { expectValid, loadOpenAiSpec } from '../helpers/openapi.js';

/**
 * Responses validation against the official spec, with the two places where OpenAI's API answers
 * what its own spec does not allow let through: `user: null` (the spec types it string only) and `usage: null`
 * in created/in_progress snapshots (the spec does not mark it nullable). Each stream event is
 * checked against its own schema from ResponseStreamEvent.anyOf (the event's `type` picks it).
 */
const spec = loadOpenAiSpec<{
  components: { schemas: Record<string, { anyOf?: { $ref: string }[]; properties?: Record<string, { enum?: string[] }> }> };
}>();
const schemas = spec.components.schemas;
const eventSchema = new Map<string, string>();
for (const ref of schemas.ResponseStreamEvent!.anyOf!) {
  const name = ref.$ref.split('/').at(-1)!;
  for (const t of schemas[name]!.properties?.type?.enum ?? []) eventSchema.set(t, name);
}

function allowlisted(response: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...response };
  if (copy.user === null) delete copy.user;
  if (copy.usage === null) delete copy.usage;
  return copy;
}

export function expectValidResponse(response: Record<string, unknown>): void {
  expectValid('Response', allowlisted(response));
}

export function expectValidEvent(event: Record<string, unknown>): void {
  const name = eventSchema.get(event.type as string);
  if (!name) throw new Error(`event type ${String(event.type)} is not in ResponseStreamEvent`);
  const e = event.response ? { ...event, response: allowlisted(event.response as Record<string, unknown>) } : event;
  expectValid(name, e);
}

/** Parses an SSE body of `event:`/`data:` pairs, checking that each `event:` equals `data.type`. */
export function parseEvents(raw: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const block of raw.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith(':'));
    if (!lines.length) continue;
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.filter((l) => l.startsWith('data: '));
    if (data.length !== 1) throw new Error(`event block without exactly one data line: ${block}`);
    const payload = JSON.parse(data[0]!.slice(6)) as Record<string, unknown>;
    if (name !== payload.type) throw new Error(`event: ${name} does not match type ${String(payload.type)}`);
    out.push(payload);
  }
  return out;
}
