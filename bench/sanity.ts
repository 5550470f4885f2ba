/**
 * Before measuring, each target must give the right answer: the full fixed text, as a JSON
 * `chat.completion` or reassembled from the SSE deltas. A benchmark of wrong answers is worthless.
 */
import { benchTokens } from '../test/fake-grok/bench-mode.js';
import type { Target } from './stack.js';

export function expectedAnswer(tokens: number): string {
  return benchTokens(tokens).join('');
}

export async function sanityCheck(t: Target, stream: boolean, expected: string): Promise<void> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: JSON.stringify({ model: t.model, messages: [{ role: 'user', content: 'Say hello in a few words.' }], stream }),
    signal: AbortSignal.timeout(15_000),
  }).catch((e: unknown) => {
    throw new Error(`${t.name}: sanity request failed: ${(e as Error).message}`);
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${t.name}: sanity request answered ${res.status}: ${text.slice(0, 300)}`);
  let content = '';
  if (stream) {
    if (!text.includes('data: [DONE]')) throw new Error(`${t.name}: stream without [DONE]`);
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const c = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
      content += c.choices?.[0]?.delta?.content ?? '';
    }
  } else {
    content = (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  }
  if (content !== expected) {
    throw new Error(`${t.name}: wrong answer (${stream ? 'stream' : 'json'}): got ${JSON.stringify(content.slice(0, 120))}…, expected ${JSON.stringify(expected.slice(0, 120))}…`);
  }
}
