import { randomBytes } from 'node:crypto';
import type { ToolCall } from '../core/intent.js';

/**
 * Tolerant parsing of the tool-call markup the model was asked to write (docs/api-contract.md
 * §10.4): the `<tool_calls>` XML of our prompt first, then the shapes models drift into —
 * `<function_call><name>…</name><arguments>…</arguments></function_call>`, `<invoke name="x">{…}</invoke>`
 * and a JSON envelope `{"tool_calls":[…]}`. A call survives only if its name was declared and its
 * arguments are (or can be repaired into) a JSON object; arguments are re-serialised compact.
 */

/** `call_` + 24 random hex chars, like OpenAI's ids. */
export function newCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&apos;': "'", '&amp;': '&' };
const unescapeXml = (s: string) => s.replace(/&(lt|gt|quot|#39|apos|amp);/g, (m) => ENTITIES[m] ?? m);

/**
 * Parses argument text into a JSON object, repairing what models commonly get wrong: code
 * fences, CDATA, raw newlines/tabs inside strings, trailing commas, unclosed braces. Returns
 * null when no object can be recovered (the call is then dropped, see parseToolMarkup).
 */
export function parseArguments(raw: string): Record<string, unknown> | null {
  let s = raw.trim();
  const cdata = /^<!\[CDATA\[([\s\S]*?)\]\]>$/.exec(s);
  if (cdata) s = cdata[1]!.trim();
  const fence = /^```[a-zA-Z]*\s*\n?([\s\S]*?)\n?```$/.exec(s);
  if (fence) s = fence[1]!.trim();
  if (s === '') return {};
  for (const candidate of [s, () => repairJson(s), () => repairJson(unescapeXml(s))]) {
    const text = typeof candidate === 'string' ? candidate : candidate();
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      return null; // valid JSON but not an object: not repairable into arguments
    } catch {
      // try the next repair
    }
  }
  return null;
}

/** Escapes control characters inside strings, drops trailing commas, closes open brackets. */
function repairJson(s: string): string {
  let out = '';
  let inString = false;
  let escaped = false;
  const stack: string[] = [];
  for (const ch of s) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      else if (ch === '\n') { out += '\\n'; continue; }
      else if (ch === '\r') { out += '\\r'; continue; }
      else if (ch === '\t') { out += '\\t'; continue; }
      out += ch;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') stack.push('}');
    else if (ch === '[') stack.push(']');
    else if (ch === '}' || ch === ']') {
      out = out.replace(/,\s*$/, '');
      stack.pop();
    }
    out += ch;
  }
  if (inString) out += '"';
  out = out.replace(/,\s*$/, '');
  while (stack.length) out += stack.pop();
  return out;
}

interface RawCall {
  name: string;
  args: unknown;
}

function tagContent(block: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)(?:</${tag}\\s*>|$)`, 'i').exec(block);
  return m?.[1];
}

function fromXml(text: string): RawCall[] {
  const calls: RawCall[] = [];
  for (const m of text.matchAll(/<tool_call\b[^>]*>([\s\S]*?)(?:<\/tool_call\s*>|(?=<tool_call\b)|$)/gi)) {
    const body = m[1]!;
    const name = tagContent(body, 'tool_name') ?? tagContent(body, 'name');
    if (name === undefined) continue;
    calls.push({ name: unescapeXml(name.trim()), args: tagContent(body, 'parameters') ?? tagContent(body, 'arguments') ?? '' });
  }
  return calls;
}

function fromFunctionCall(text: string): RawCall[] {
  const calls: RawCall[] = [];
  for (const m of text.matchAll(/<function_call\b[^>]*>([\s\S]*?)(?:<\/function_call\s*>|$)/gi)) {
    const name = tagContent(m[1]!, 'name');
    if (name !== undefined) calls.push({ name: unescapeXml(name.trim()), args: tagContent(m[1]!, 'arguments') ?? tagContent(m[1]!, 'parameters') ?? '' });
  }
  return calls;
}

function fromInvoke(text: string): RawCall[] {
  const calls: RawCall[] = [];
  for (const m of text.matchAll(/<invoke\s+name\s*=\s*["']([^"']+)["'][^>]*>([\s\S]*?)(?:<\/invoke\s*>|$)/gi)) {
    calls.push({ name: unescapeXml(m[1]!.trim()), args: m[2]! });
  }
  return calls;
}

/** `{"tool_calls":[…]}` or a bare array; items `{name|tool_name, arguments|parameters|input}` or `{function:{…}}`. */
export function fromJsonEnvelope(text: string): RawCall[] {
  let v: unknown;
  try {
    v = JSON.parse(text.trim());
  } catch {
    return [];
  }
  const list = Array.isArray(v) ? v : v && typeof v === 'object' ? (v as { tool_calls?: unknown }).tool_calls : undefined;
  if (!Array.isArray(list)) return [];
  const calls: RawCall[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const o = ((item as { function?: unknown }).function ?? item) as Record<string, unknown>;
    const name = o.name ?? o.tool_name;
    if (typeof name === 'string') calls.push({ name, args: o.arguments ?? o.parameters ?? o.input ?? {} });
  }
  return calls;
}

/**
 * Turns one markup block into calls. Calls with an undeclared name or unrecoverable arguments
 * are dropped; an empty result tells the caller to treat the block as ordinary text.
 */
export function parseToolMarkup(block: string, declared: ReadonlySet<string>): ToolCall[] {
  let raw = fromXml(block);
  if (!raw.length) raw = fromFunctionCall(block);
  if (!raw.length) raw = fromInvoke(block);
  // A JSON envelope, bare or wrapped in the <tool_calls> element.
  if (!raw.length) raw = fromJsonEnvelope(block.replace(/^\s*(?:```[a-zA-Z]*\s*)?<tool_calls\b[^>]*>|<\/tool_calls\s*>(?:\s*```)?\s*$/gi, ''));
  const calls: ToolCall[] = [];
  for (const r of raw) {
    if (!declared.has(r.name)) continue;
    const args = typeof r.args === 'string' ? parseArguments(r.args) : r.args && typeof r.args === 'object' && !Array.isArray(r.args) ? r.args : null;
    if (!args) continue;
    calls.push({ id: newCallId(), name: r.name, arguments: JSON.stringify(args) });
  }
  return calls;
}
