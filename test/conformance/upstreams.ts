import { startFakeXai, type FakeXai, type XaiReply, type XaiRequest, conversationText, type ChatBody } from '../fake-xai/server.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, transportOverrides } from '../helpers/transports.js';

/**
 * The upstreams every conformance suite runs on (`describe.each(UPSTREAMS)`): the fake grok.com
 * over each chat transport, with grok.com accounts imported and the catalogue model `grok-4`; and
 * the fake xAI API with one xAI key imported and the model pinned to `xai/grok-4`. A case whose
 * behaviour differs for a real reason (grok.com's emulated tools and limits vs. xAI's native ones)
 * asserts what each upstream must do, branching on `up.kind`.
 */
export const UPSTREAMS = [...TRANSPORTS.map((t) => `grok.com/${t}` as const), 'xai'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

/** A plain scripted answer, the same on both fakes. */
export interface PlainAnswer {
  answer: string;
  chunkSize?: number;
  interTokenDelayMs?: number;
}

/** One chat turn the upstream received, seen the same way on both. */
export interface SeenTurn {
  /** The conversation as text (grok.com: the flattened prompt; xAI: every message's text). */
  text: string;
  /** grok.com: the request body; xAI: the chat completions body. */
  body: Record<string, unknown>;
}

export interface Upstream {
  name: UpstreamName;
  kind: 'grok' | 'xai';
  stack: Stack;
  /** The fake xAI API (xai only). */
  xai: FakeXai | null;
  /** The model clients ask for: `grok-4` on grok.com, `xai/grok-4` pinned to the xAI API. */
  model: string;
  /** Scripts a plain answer for turns whose conversation contains `tag` or satisfies `match`. */
  plain(match: string | ((conversation: string) => boolean), a: PlainAnswer): void;
  /** The chat turns the upstream received whose conversation contains `tag`, in order. */
  turns(tag: string): SeenTurn[];
  /** Resolves with the first turn containing `tag` whose connection has closed, and whether the server closed it early. */
  closedTurn(tag: string): Promise<{ clientAborted: boolean }>;
  close(): Promise<void>;
}

const grokText = (body: Record<string, unknown> | null | undefined) => (typeof body?.message === 'string' ? body.message : '');
const xaiText = (r: XaiRequest) => (r.path === '/v1/chat/completions' && r.body ? conversationText(r.body as ChatBody) : '');

/** Starts the stack for one upstream, with `n` credentials (grok.com accounts or xAI keys). */
export async function startUpstream(name: UpstreamName, label: string, n = 2): Promise<Upstream> {
  const names = Array.from({ length: n }, (_, i) => `${label}-${i + 1}`);
  if (name === 'xai') {
    const xai = await startFakeXai();
    const keys = names.map((k) => `xai-${k}`);
    for (const k of keys) xai.key(k, 'ok');
    const stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    await stack.importTokens(keys, { kind: 'xai' });
    return {
      name,
      kind: 'xai',
      stack,
      xai,
      model: 'xai/grok-4',
      plain: (match, a) => {
        const reply: XaiReply = { content: a.answer, chunkSize: a.chunkSize, interTokenDelayMs: a.interTokenDelayMs };
        xai.script(typeof match === 'string' ? match : (body) => match(conversationText(body)), reply);
      },
      turns: (tag) => xai.requests.filter((r) => xaiText(r).includes(tag)).map((r) => ({ text: xaiText(r), body: r.body! })),
      closedTurn: async (tag) => xai.waitFor((r) => xaiText(r).includes(tag) && r.closedAt !== null),
      close: async () => {
        await stack.close();
        await xai.close();
      },
    };
  }
  const transport = name === 'grok.com/ws' ? 'ws' : 'rest';
  const stack = await startStack({ overrides: transportOverrides(transport) });
  await stack.importTokens(names);
  return {
    name,
    kind: 'grok',
    stack,
    xai: null,
    model: 'grok-4',
    plain: (match, a) => stack.fake.script(match, { kind: 'plain', ...a }),
    turns: (tag) => stack.fake.requests.filter((r) => grokText(r.body).includes(tag)).map((r) => ({ text: grokText(r.body), body: r.body as Record<string, unknown> })),
    closedTurn: (tag) => stack.fake.waitFor((r) => grokText(r.body).includes(tag) && r.closedAt !== null),
    close: () => stack.close(),
  };
}
