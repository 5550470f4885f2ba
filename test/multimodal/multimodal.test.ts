import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';
import { dataUri, makePng, makeWav, PDF, startFileServer, type FileServer } from './fixtures.js';

const PNG = makePng(3, 2);

describe.each(TRANSPORTS)('multimodal input over %s', (transport) => {
  let stack: Stack;
  let files: FileServer;
  const uploadPath = transport === 'ws' ? '/http/upload-file-v2/direct' : '/rest/app-chat/upload-file';

  beforeAll(async () => {
    // The "remote" host listens on 127.0.0.2 and only that address is allowlisted: 127.0.0.1 stays refused.
    files = await startFileServer({ '/photo.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(PNG) }, '127.0.0.2');
    stack = await startStack({ overrides: { ...transportOverrides(transport), security: { fetch_allowlist: ['127.0.0.2/32'], fetch_max_mb: 0.05 } } });
    await stack.importTokens(['mm-acct-1', 'mm-acct-2']);
  });
  afterAll(async () => {
    await stack.close();
    await files.close();
  });

  const chat = (content: unknown[], stream = false) =>
    fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', stream, messages: [{ role: 'user', content }] }),
    });
  const turnFor = (marker: string) => stack.fake.requests.filter(isChatTurn).find((r) => r.body?.message?.includes(marker))!;

  it('uploads a data URI image on the leased account and attaches it to the turn', async () => {
    const before = stack.fake.uploads.length;
    const res = await chat([{ type: 'text', text: `describe-${transport}` }, { type: 'image_url', image_url: { url: dataUri('image/png', PNG), detail: 'high' } }]);
    expect(res.status).toBe(200);
    expectValid('CreateChatCompletionResponse', await res.json());
    const up = stack.fake.uploads.slice(before);
    expect(up).toHaveLength(1);
    expect(up[0]!.bytes.equals(PNG)).toBe(true);
    expect(up[0]!.mime).toBe('image/png');
    expect(up[0]!.fileName).toBe('image.png');
    const turn = turnFor(`describe-${transport}`);
    expect(turn.body.fileAttachments).toEqual([up[0]!.id]);
    expect(up[0]!.token).toBe(turn.token);
    expect(stack.fake.requests.some((r) => r.path === uploadPath)).toBe(true);
    if (transport === 'ws') {
      expect(turn.body.item.item.x_grok.input_chunks[0]).toEqual({ mention: { target: { file_mention: { file_id: up[0]!.id } } } });
    }
  });

  it('fetches an allowlisted remote image, and audio and PDF parts, in order', async () => {
    const before = stack.fake.uploads.length;
    const res = await chat(
      [
        { type: 'text', text: `mixed-${transport}` },
        { type: 'image_url', image_url: { url: `${files.url}/photo.png` } },
        { type: 'input_audio', input_audio: { data: makeWav().toString('base64'), format: 'wav' } },
        { type: 'file', file: { file_data: dataUri('application/pdf', PDF), filename: 'report.pdf' } },
      ],
      true,
    );
    expect(res.status).toBe(200);
    await res.text();
    // The uploads run in parallel, so they may reach grok.com in any order; the turn lists the
    // file ids in message order.
    const up = stack.fake.uploads.slice(before);
    const byId = new Map(up.map((u) => [u.id, u]));
    const attached = (turnFor(`mixed-${transport}`).body.fileAttachments as string[]).map((id) => byId.get(id)!);
    expect(attached.map((u) => [u.fileName, u.mime])).toEqual([
      ['photo.png', 'image/png'],
      ['audio.wav', 'audio/wav'],
      ['report.pdf', 'application/pdf'],
    ]);
    expect(attached[0]!.bytes.equals(PNG)).toBe(true);
  });

  it.each([
    ['http://127.0.0.1:9/secret.png', /loopback address 127\.0\.0\.1.*refused/],
    ['http://169.254.169.254/latest/meta-data/', /link-local address 169\.254\.169\.254.*refused/],
    ['http://10.0.0.5/x.png', /private address 10\.0\.0\.5/],
    ['http://[::1]/x.png', /loopback address ::1/],
  ])('refuses image_url %s with a 400 that says why', async (url, why) => {
    const turns = stack.fake.requests.filter(isChatTurn).length;
    const res = await chat([{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url } }]);
    expect(res.status).toBe(400);
    const body = await res.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('invalid_image_url');
    expect(body.error.param).toBe('messages[0].content[1].image_url.url');
    expect(body.error.message).toMatch(why);
    expect(stack.fake.requests.filter(isChatTurn)).toHaveLength(turns);
  });

  it('refuses oversize, unknown and mislabelled bytes, file_id and too many attachments', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ type: 'image_url', image_url: { url: dataUri('image/png', Buffer.concat([PNG, Buffer.alloc(60 * 1024)])) } }, 'invalid_image_url', /larger than 0\.05 MB/],
      [{ type: 'image_url', image_url: { url: dataUri('image/png', randomBytes(32).fill(0, 0, 4)) } }, 'invalid_image_url', /match no known type/],
      [{ type: 'image_url', image_url: { url: dataUri('image/png', PDF) } }, 'invalid_image_url', /its bytes are application\/pdf/],
      [{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }, 'invalid_image_url', /not valid base64/],
      [{ type: 'input_audio', input_audio: { data: PNG.toString('base64'), format: 'mp3' } }, 'invalid_input_audio', /its bytes are image\/png/],
      [{ type: 'file', file: { file_id: 'file-abc' } }, 'unsupported_parameter', /file_id/],
    ];
    for (const [part, code, why] of cases) {
      const res = await chat([{ type: 'text', text: 'x' }, part]);
      expect(res.status).toBe(400);
      const body = await res.json();
      expectValid('ErrorResponse', body);
      expect(body.error.code).toBe(code);
      expect(body.error.message).toMatch(why);
    }
    const nine = Array.from({ length: 9 }, () => ({ type: 'image_url', image_url: { url: dataUri('image/png', PNG) } }));
    const res = await chat([{ type: 'text', text: 'many' }, ...nine]);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('too_many_attachments');
  });
});
