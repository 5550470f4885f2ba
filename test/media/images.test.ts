import OpenAI, { toFile } from 'openai';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../fake-grok/media-fixtures.js';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';
import { auth, post } from './helpers.js';

let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  await stack.importTokens(['img-acct']);
  client = new OpenAI({ apiKey: API_KEY, baseURL: `${stack.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

/** Decodes a PNG far enough to prove it is one: signature, IHDR size, inflatable IDAT. */
function decodePng(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const idatLen = buf.readUInt32BE(33);
  expect(buf.subarray(37, 41).toString()).toBe('IDAT');
  const raw = inflateSync(buf.subarray(41, 41 + idatLen));
  expect(raw.length).toBe(height * (1 + width * 3));
  return { width, height };
}

const imagineRounds = () => stack.fake.requests.filter((r) => r.path === '/ws/imagine/listen');

describe('POST /v1/images/generations', () => {
  it('returns n decodable images as b64_json through the official SDK, in one imagine round', async () => {
    const before = imagineRounds().length;
    const res = await client.images.generate({ model: 'grok-imagine-1.0', prompt: 'a red fox', n: 3, response_format: 'b64_json', size: '1792x1024' });
    expectValid('ImagesResponse', res);
    expect(res.data).toHaveLength(3);
    const bufs = res.data!.map((d) => Buffer.from(d.b64_json!, 'base64'));
    for (const b of bufs) expect(decodePng(b)).toEqual({ width: 32, height: 32 });
    expect(new Set(bufs.map((b) => b.toString('base64'))).size).toBe(3);
    const rounds = imagineRounds().slice(before);
    expect(rounds).toHaveLength(1);
    const props = rounds[0]!.body.item.content[0].properties;
    expect(props).toMatchObject({ num_generations: 3, aspect_ratio: '3:2' });
    expect(rounds[0]!.cookies.sso).toBe('img-acct');
  });

  it('with url, returns the proxy\'s own URLs serving the same bytes (base64 is an alias of b64_json)', async () => {
    const res = await client.images.generate({ model: 'grok-imagine-1.0', prompt: 'a blue bird', n: 2, response_format: 'url' });
    expectValid('ImagesResponse', res);
    for (const d of res.data!) {
      expect(d.url).toMatch(new RegExp(`^${stack.url}/v1/files/image/[0-9a-f]{32}\\.png$`));
      const img = await fetch(d.url!);
      expect(img.headers.get('content-type')).toBe('image/png');
      decodePng(Buffer.from(await img.arrayBuffer()));
    }
    const alias = await post(`${stack.url}/v1/images/generations`, { prompt: 'x', response_format: 'base64' });
    const j = await alias.json();
    expectValid('ImagesResponse', j);
    expect(j.data[0].b64_json).toBeTruthy();
  });

  it('streams partial then completed events that validate against the OpenAI spec', async () => {
    const res = await post(`${stack.url}/v1/images/generations`, { prompt: 'a cat', n: 2, stream: true, response_format: 'b64_json', size: '1024x1024' });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await readSse(res)).data.map((d) => JSON.parse(d));
    for (const e of events) expectValid('ImageGenStreamEvent', e);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'image_generation.partial_image')).toHaveLength(2);
    expect(types.filter((t) => t === 'image_generation.completed')).toHaveLength(2);
    expect(types.lastIndexOf('image_generation.partial_image')).toBeLessThan(types.indexOf('image_generation.completed'));
    expect(events.filter((e) => e.type === 'image_generation.completed').map((e) => e.index).sort()).toEqual([0, 1]);

    // The SDK parses the same stream.
    const stream = await client.images.generate({ model: 'grok-imagine-1.0', prompt: 'a dog', n: 1, stream: true });
    const seen: string[] = [];
    for await (const e of stream) seen.push(e.type);
    expect(seen).toEqual(['image_generation.partial_image', 'image_generation.completed']);
  });

  it('leaves moderated images out, and answers 400 content_policy_violation when all are blocked', async () => {
    const some = await post(`${stack.url}/v1/images/generations`, { prompt: '[moderate-one] a beach', n: 3, response_format: 'b64_json' });
    const j = await some.json();
    expectValid('ImagesResponse', j);
    expect(j.data).toHaveLength(2);
    expect(j.moderated_images).toBe(1);
    const all = await post(`${stack.url}/v1/images/generations`, { prompt: '[moderated] a beach', n: 2 });
    expect(all.status).toBe(400);
    expect((await all.json()).error.code).toBe('content_policy_violation');
  });

  it('serves the chat-path image model (Drawing:) with ceil(n/2) upstream requests', async () => {
    const before = stack.fake.requests.length;
    const res = await post(`${stack.url}/v1/images/generations`, { model: 'grok-imagine-image-lite', prompt: 'a lighthouse', n: 3, response_format: 'b64_json' });
    const j = await res.json();
    expectValid('ImagesResponse', j);
    expect(j.data).toHaveLength(3);
    for (const d of j.data) decodePng(Buffer.from(d.b64_json, 'base64'));
    const sent = stack.fake.requests.slice(before).filter((r) => typeof r.body?.message === 'string' && r.body.message.startsWith('Drawing: '));
    expect(sent).toHaveLength(2);
    expect(sent[0]!.body).toMatchObject({ message: 'Drawing: a lighthouse', modeId: 'fast', enableImageGeneration: true });
  });

  it('rejects bad input with clear errors', async () => {
    const empty = await post(`${stack.url}/v1/images/generations`, { prompt: ' ' });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.code).toBe('empty_prompt');
    const many = await post(`${stack.url}/v1/images/generations`, { prompt: 'x', n: 11 });
    expect((await many.json()).error.param).toBe('n');
    const size = await post(`${stack.url}/v1/images/generations`, { prompt: 'x', size: 'huge' });
    expect((await size.json()).error.param).toBe('size');
    const chat = await post(`${stack.url}/v1/images/generations`, { prompt: 'x', model: 'grok-4' });
    expect((await chat.json()).error.param).toBe('model');
  });

});

describe('POST /v1/images/edits', () => {
  const png = (c: number) => makePng(12, 12, [c, 0, 0]);

  it('uploads every image and returns the edited one (official SDK)', async () => {
    const before = stack.fake.uploads.length;
    const res = await client.images.edit({
      model: 'grok-imagine-1.0',
      prompt: 'make it a rabbit',
      image: [await toFile(png(10), 'a.png', { type: 'image/png' }), await toFile(png(20), 'b.png', { type: 'image/png' })],
      response_format: 'b64_json',
    });
    expectValid('ImagesResponse', res);
    expect(res.data).toHaveLength(1);
    decodePng(Buffer.from(res.data![0]!.b64_json!, 'base64'));
    const uploads = stack.fake.uploads.slice(before);
    expect(uploads.map((u) => u.bytes)).toEqual([png(10), png(20)]);
    const sent = stack.fake.requests.filter((r) => r.body?.mediaGenInput?.imageToImage).at(-1)!;
    expect(sent.body.mediaGenInput.imageToImage).toEqual({ prompt: 'make it a rabbit', inputAssets: uploads.map((u) => u.id) });
    expect(Object.keys(sent.body)).toHaveLength(6);
  });

  it('streams image_edit events that validate', async () => {
    const form = new FormData();
    form.append('prompt', 'sepia');
    form.append('stream', 'true');
    form.append('image', new Blob([new Uint8Array(png(30))], { type: 'image/png' }), 'x.png');
    const res = await fetch(`${stack.url}/v1/images/edits`, { method: 'POST', headers: auth, body: form });
    const events = (await readSse(res)).data.map((d) => JSON.parse(d));
    expect(events.map((e) => e.type)).toEqual(['image_edit.completed']);
    for (const e of events) expectValid('ImageEditStreamEvent', e);
  });

  it('checks files by content (415), size (413) and presence', async () => {
    const text = new FormData();
    text.append('prompt', 'x');
    text.append('image', new Blob(['just some text, honestly'], { type: 'image/png' }), 'photo.png');
    const bad = await fetch(`${stack.url}/v1/images/edits`, { method: 'POST', headers: auth, body: text });
    expect(bad.status).toBe(415);
    expect((await bad.json()).error.message).toMatch(/photo\.png.*not a PNG, JPEG or WebP.*by content/);

    const big = new FormData();
    big.append('prompt', 'x');
    big.append('image', new Blob([new Uint8Array(51 * 1024 * 1024)], { type: 'image/png' }), 'big.png');
    const tooBig = await fetch(`${stack.url}/v1/images/edits`, { method: 'POST', headers: auth, body: big });
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).error.code).toBe('payload_too_large');

    const none = new FormData();
    none.append('prompt', 'x');
    const missing = await fetch(`${stack.url}/v1/images/edits`, { method: 'POST', headers: auth, body: none });
    expect((await missing.json()).error).toMatchObject({ code: 'missing_required_parameter', param: 'image' });

    const json = await post(`${stack.url}/v1/images/edits`, { prompt: 'x' });
    expect(json.status).toBe(415);
  });
});

// Last: it leaves the accounts invalid or cooling down.
describe('imagine failures', () => {
  it('maps a rate-limit frame and handshake failures to the pool (cooldown, other account)', async () => {
    stack.fake.setAccount('img-bad', { state: 'invalid' });
    const ids = await stack.importTokens(['img-bad']);
    // Whichever account is leased first, the request succeeds on the valid one.
    for (let i = 0; i < 2; i++) {
      const ok = await post(`${stack.url}/v1/images/generations`, { prompt: 'retry me', response_format: 'b64_json' });
      expect(ok.status).toBe(200);
    }
    const list = await (await stack.admin('GET', '/admin/api/tokens')).json();
    expect(list.tokens.find((t: any) => t.id === ids[0]).status).toBe('invalid');
    const limited = await post(`${stack.url}/v1/images/generations`, { prompt: '[ratelimit] x' });
    expect(limited.status).toBe(429);
  });
});
