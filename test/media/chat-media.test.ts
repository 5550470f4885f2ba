import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../fake-grok/media-fixtures.js';
import { expectValid } from '../helpers/openapi.js';
import { readSse, startStack, type Stack } from '../helpers/stack.js';
import { post } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: { app: { video_format: 'html' } } });
  await stack.importTokens(['chat-media-acct']);
});
afterAll(async () => {
  await stack?.close();
});

const chat = (body: Record<string, unknown>) => post(`${stack.url}/v1/chat/completions`, body);

describe('media models in /v1/chat/completions', () => {
  it('streams video progress as reasoning and the video as content, honouring video_config', async () => {
    const res = await chat({
      model: 'grok-imagine-1.0-video',
      stream: true,
      messages: [{ role: 'user', content: 'a surfing cat' }],
      video_config: { aspect_ratio: '16:9', video_length: 10, resolution_name: '720p', preset: 'fun' },
    });
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    const reasoning = chunks.map((c) => c.choices[0].delta.reasoning_content ?? '').join('');
    expect(reasoning).toMatch(/Video generation 5%\n[\s\S]*Video generation 95%\n/);
    const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    const url = /src="([^"]+)"/.exec(content)![1]!;
    expect(content).toMatch(/^<video controls/);
    expect(url).toMatch(/\/v1\/files\/video\/[0-9a-f]{32}\.mp4$/);
    expect((await fetch(url)).headers.get('content-type')).toBe('video/mp4');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    const sent = stack.fake.requests.filter((r) => r.body?.mediaGenInput?.textToVideo).at(-1)!;
    expect(sent.body.mediaGenInput.textToVideo).toEqual({ prompt: 'a surfing cat', aspectRatio: '16:9', duration: 10, resolutionName: '720p' });
    expect(sent.body.message).toBe('a surfing cat --mode=extremely-crazy');
  });

  it('answers an image model with markdown images (app.image_format = url)', async () => {
    const res = await chat({ model: 'grok-imagine-1.0', messages: [{ role: 'user', content: [{ type: 'text', text: 'two owls' }] }], image_config: { n: 2, size: '1280x720' } });
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    const urls = [...body.choices[0].message.content.matchAll(/!\[image\d\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(urls).toHaveLength(2);
    for (const u of urls) expect((await fetch(u)).headers.get('content-type')).toBe('image/png');
    const round = stack.fake.requests.filter((r) => r.path === '/ws/imagine/listen').at(-1)!;
    expect(round.body.item.content[0].properties).toMatchObject({ num_generations: 2, aspect_ratio: '16:9' });
  });

  it('edits the image of the message with the edit model', async () => {
    const dataUri = `data:image/png;base64,${makePng(10, 10, [1, 2, 3]).toString('base64')}`;
    const res = await chat({ model: 'grok-imagine-1.0-edit', messages: [{ role: 'user', content: [{ type: 'text', text: 'add a hat' }, { type: 'image_url', image_url: { url: dataUri } }] }] });
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    expect(body.choices[0].message.content).toMatch(/^!\[image1\]\(http/);
    const missing = await chat({ model: 'grok-imagine-1.0-edit', messages: [{ role: 'user', content: 'add a hat' }] });
    expect(missing.status).toBe(400);
    const empty = await chat({ model: 'grok-imagine-1.0', messages: [{ role: 'user', content: '' }] });
    expect((await empty.json()).error.code).toBe('empty_prompt');
  });

  it('shapes a streamed image answer like any chat stream, with the usage chunk when asked (zeros: media is not priced by tokens)', async () => {
    const res = await chat({ model: 'grok-imagine-1.0', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a red kite' }] });
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toMatch(/^!\[image1\]\(http[^)]+\)$/);
  });

  it('answers a video model without streaming: progress as reasoning_content, the video as content', async () => {
    const res = await chat({ model: 'grok-imagine-1.0-video', messages: [{ role: 'user', content: 'a slow river' }] });
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    const { message, finish_reason } = body.choices[0];
    expect(finish_reason).toBe('stop');
    expect(message.reasoning_content).toMatch(/^(Video generation \d+%\n)+$/);
    expect(message.reasoning_content).toContain('Video generation 95%\n');
    expect(message.content).toMatch(/^<video controls="" preload="none" src="http[^"]+\.mp4"><\/video>$/);
    expect(body.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('refuses bad media options with an HTTP error before a stream starts', async () => {
    const size = await chat({ model: 'grok-imagine-1.0', stream: true, messages: [{ role: 'user', content: 'x' }], image_config: { size: '3x3' } });
    expect(size.status).toBe(400);
    expect(size.headers.get('content-type')).toMatch(/application\/json/);
    expect((await size.json()).error.param).toBe('image_config.size');
    const edit = await chat({ model: 'grok-imagine-1.0-edit', stream: true, messages: [{ role: 'user', content: 'add a hat' }] });
    expect(edit.status).toBe(400);
    const options = await chat({ model: 'grok-imagine-1.0', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] });
    expect(options.status).toBe(400);
    expect((await options.json()).error.param).toBe('stream_options');
  });

  it('reports a moderated video inside the stream as an error', async () => {
    const res = await chat({ model: 'grok-imagine-1.0-video', stream: true, messages: [{ role: 'user', content: '[moderated] x' }] });
    const { data } = await readSse(res);
    const err = data.map((d) => (d === '[DONE]' ? null : JSON.parse(d))).find((d) => d?.error);
    expect(err.error.code).toBe('content_policy_violation');
    expect(data.at(-1)).toBe('[DONE]');
  });

  it('answers a video from an image with a 400 that says grok.com makes videos from text only, in either generation', async () => {
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${makePng(12, 12, [9, 9, 9]).toString('base64')}` } };
    const ask = () => chat({ model: 'grok-imagine-video', messages: [{ role: 'user', content: [{ type: 'text', text: 'animate this' }, image] }] });
    const before = stack.fake.requests.length;
    const now = await ask();
    expect(now.status).toBe(400);
    const body = await now.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('image_to_video_unsupported');
    expect(stack.fake.requests.length).toBe(before);

    // The legacy generation tries the image form; today's grok.com turns it down, once.
    await stack.admin('PUT', '/admin/api/settings', { video: { generation: 'legacy' } });
    try {
      const legacy = await ask();
      expect(legacy.status).toBe(400);
      const err = await legacy.json();
      expect(err.error.code).toBe('image_to_video_unsupported');
      expect(err.error.message).toMatch(/grok\.com refused to make a video from an image/);
      const refused = stack.fake.requests.filter((r) => r.body?.responseMetadata?.modelConfigOverride?.modelMap?.videoGenModelConfig?.imageReferences);
      expect(refused).toHaveLength(1);
    } finally {
      await stack.admin('PUT', '/admin/api/settings', { video: { generation: '2026-08' } });
    }
  });
});
