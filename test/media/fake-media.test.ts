import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => {
  await fake.close();
});

/** The handshake status the fake's imagine socket answers for a cookie. */
function handshake(cookie: string | null): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${fake.url.replace('http', 'ws')}/ws/imagine/listen`, { headers: cookie ? { cookie } : {} });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

describe('the fake grok.com media surface', () => {
  it('refuses imagine handshakes like grok.com: 401, 403, 429', async () => {
    fake.setAccount('hs-invalid', { state: 'invalid' });
    fake.setAccount('hs-blocked', { state: 'blocked' });
    fake.setAccount('hs-limited', { state: 'limited' });
    expect(await handshake(null)).toBe(401);
    expect(await handshake('sso=hs-invalid')).toBe(401);
    expect(await handshake('sso=hs-blocked')).toBe(403);
    expect(await handshake('sso=hs-limited')).toBe(429);
    expect(await handshake('sso=hs-ok')).toBe(101);
  });

  it('stores upload v2 files and serves assets only to the owning account', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }), 'a.png');
    form.append('file_source', 'IMAGINE_SELF_UPLOAD_FILE_SOURCE');
    const up = await fetch(`${fake.url}/http/upload-file-v2/direct`, { method: 'POST', headers: { cookie: 'sso=owner' }, body: form });
    const j = await up.json();
    expect(j).toMatchObject({ uploadId: expect.any(String), fileMetadata: { fileMetadataId: expect.any(String), fileUri: expect.stringMatching(/^users\/.+\/content$/) } });
    const url = `${fake.url}/${j.fileMetadata.fileUri}`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { cookie: 'sso=someone-else' } })).status).toBe(403);
    const ok = await fetch(url, { headers: { cookie: 'sso=owner' } });
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(Buffer.from([1, 2, 3]));
    const post = await fetch(`${fake.url}/rest/media/post/create`, { method: 'POST', headers: { cookie: 'sso=owner', 'content-type': 'application/json' }, body: JSON.stringify({ mediaType: 'MEDIA_POST_TYPE_IMAGE', mediaUrl: url }) });
    expect((await post.json()).post.id).toMatch(/^post-/);
  });

  it('rejects a video payload in an outdated shape', async () => {
    const res = await fetch(`${fake.url}/rest/app-chat/conversations/new`, {
      method: 'POST',
      headers: { cookie: 'sso=v', 'content-type': 'application/json' },
      body: JSON.stringify({ modelName: 'imagine-video-gen', message: 'x --mode=custom', mediaGenInput: { textToVideo: { prompt: 'x' } } }),
    });
    expect(res.status).toBe(400);
  });
});
