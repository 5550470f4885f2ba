import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../fake-grok/media-fixtures.js';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { auth, followTask, getJson, post } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: { video: { max_concurrent: 1 } } });
  await stack.importTokens(['video-acct']);
});
afterAll(async () => {
  await stack?.close();
});

const create = async (body: Record<string, unknown>) => {
  const res = await post(`${stack.url}/v1/video/tasks`, { model: 'grok-imagine-1.0-video', ...body });
  const j = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(j));
  expect(j).toMatchObject({ status: 'success', task_id: expect.any(String) });
  return j.task_id as string;
};
const isTerminal = (e: any) => ['completed', 'failed', 'cancelled'].includes(e.type);

describe('video tasks', () => {
  it('go pending → running → completed, followed by a second client, and serve the MP4 with ranges', async () => {
    const id = await create({ prompt: 'a dolphin jumping', aspect_ratio: '16:9', video_length: 6, resolution: '720p' });
    const [a, b] = await Promise.all([followTask(stack.url, id, isTerminal), followTask(stack.url, id, isTerminal)]);
    for (const events of [a, b]) {
      expect(events[0].type).toBe('snapshot');
      const last = events.at(-1);
      expect(last).toMatchObject({ type: 'completed', status: 'completed', progress: 100 });
      const progress = events.filter((e) => e.type === 'progress').map((e) => e.progress);
      expect(progress).toEqual([...progress].sort((x, y) => x - y));
    }
    expect(a.filter((e) => e.type === 'progress').length).toBeGreaterThan(2);

    const task = await getJson(`${stack.url}/v1/video/tasks/${id}`);
    expect(task).toMatchObject({ task_id: id, status: 'completed', progress: 100, prompt: 'a dolphin jumping' });
    expect(task.started_at && task.completed_at && task.created_at).toBeTruthy();
    expect(task.video_url).toMatch(new RegExp(`^${stack.url}/v1/files/video/[0-9a-f]{32}\\.mp4$`));

    // The upstream payload is the G textToVideo shape.
    const sent = stack.fake.requests.filter((r) => r.body?.mediaGenInput?.textToVideo).at(-1)!;
    expect(Object.keys(sent.body).sort()).toEqual(['enableImageStreaming', 'enableSideBySide', 'kind', 'mediaGenInput', 'message', 'modelName', 'responseMetadata', 'sendFinalMetadata']);
    expect(sent.body.mediaGenInput.textToVideo).toEqual({ prompt: 'a dolphin jumping', aspectRatio: '16:9', duration: 6, resolutionName: '720p' });

    // No API key needed for files; the bytes are the fake's MP4, downloaded with the account's cookie.
    const full = await fetch(task.video_url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    const asset = stack.fake.requests.find((r) => r.method === 'GET' && r.path.endsWith('generated_video.mp4'))!;
    expect(asset.cookies.sso).toBe('video-acct');

    const part = await fetch(task.video_url, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 100));
    const tail = await fetch(task.video_url, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 10));
    expect((await fetch(task.video_url, { headers: { range: `bytes=${bytes.length + 5}-` } })).status).toBe(416);
    const etag = full.headers.get('etag')!;
    expect((await fetch(task.video_url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${stack.url}/v1/files/video/${'0'.repeat(32)}.mp4`)).status).toBe(404);
  });

  it('cancels a running task, stopping the upstream generation, while the next one waits as pending', async () => {
    const slow = await create({ prompt: '[slow] a long shot' });
    const next = await create({ prompt: 'after the slow one' });
    await followTask(stack.url, slow, (e) => e.type === 'progress');
    expect((await getJson(`${stack.url}/v1/video/tasks/${next}`)).status).toBe('pending'); // max_concurrent = 1
    const del = await fetch(`${stack.url}/v1/video/tasks/${slow}`, { method: 'DELETE', headers: auth });
    expect(await del.json()).toMatchObject({ status: 'success' });
    await stack.fake.waitFor((r) => r.body?.mediaGenInput?.textToVideo?.prompt === '[slow] a long shot' && r.clientAborted);
    expect((await getJson(`${stack.url}/v1/video/tasks/${slow}`)).status).toBe('cancelled');
    const events = await followTask(stack.url, next, isTerminal);
    expect(events.at(-1).type).toBe('completed');
    const again = await fetch(`${stack.url}/v1/video/tasks/${slow}`, { method: 'DELETE', headers: auth });
    expect(again.status).toBe(409);
  });

  it('fails a moderated video with a message, and rejects bad input clearly', async () => {
    const id = await create({ prompt: '[moderated] something' });
    const events = await followTask(stack.url, id, isTerminal);
    expect(events.at(-1)).toMatchObject({ type: 'failed', status: 'failed' });
    expect(events.at(-1).message).toMatch(/content policy/);
    const failing = await create({ prompt: '[fail] upstream breaks' });
    const failed = (await followTask(stack.url, failing, isTerminal)).at(-1);
    expect(failed).toMatchObject({ type: 'failed', status: 'failed' });
    expect(failed.message).toMatch(/video generation failed upstream/);

    const empty = await post(`${stack.url}/v1/video/tasks`, { prompt: '  ' });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.code).toBe('empty_prompt');
    const ratio = await post(`${stack.url}/v1/video/tasks`, { prompt: 'x', aspect_ratio: '4:1' });
    expect((await ratio.json()).error.param).toBe('aspect_ratio');
    const model = await post(`${stack.url}/v1/video/tasks`, { prompt: 'x', model: 'grok-4' });
    expect(model.status).toBe(400);
    const missing = await fetch(`${stack.url}/v1/video/tasks/task_nope`, { headers: auth });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('task_not_found');
    expect((await fetch(`${stack.url}/v1/video/tasks`)).status).toBe(401);
  });

  it('image to video: refused at once in the 2026-08 generation; in the legacy one sent as upload v2 + media post + imageReferences, and a clear failure when grok.com refuses that form', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(makePng(16, 16, [200, 10, 10]))], { type: 'image/png' }), 'ref.png');
    const up = await fetch(`${stack.url}/v1/video/upload`, { method: 'POST', headers: auth, body: form });
    const uploaded = await up.json();
    expect(uploaded).toMatchObject({ file_id: expect.any(String), file_uri: expect.any(String), image_url: expect.stringContaining('/v1/files/image/') });

    // Today's generation has no image to video: a 400 that says so, and nothing reaches grok.com.
    const before = stack.fake.requests.length;
    const refused = await post(`${stack.url}/v1/video/tasks`, { model: 'grok-imagine-1.0-video', prompt: 'make it move', image_url: uploaded.image_url });
    expect(refused.status).toBe(400);
    const err = await refused.json();
    expectValid('ErrorResponse', err);
    expect(err.error.code).toBe('image_to_video_unsupported');
    expect(err.error.message).toMatch(/text only since 2026-08-20.*video\.generation = "legacy"/);
    expect(stack.fake.requests.length).toBe(before);

    expect((await stack.admin('PUT', '/admin/api/settings', { video: { generation: 'legacy' } })).status).toBe(200);
    try {
      // A grok.com that still takes the older form (before 2026-08-20).
      stack.fake.videoGeneration = 'legacy';
      const id = await create({ prompt: 'make it move', image_url: uploaded.image_url });
      const events = await followTask(stack.url, id, isTerminal);
      expect(events.at(-1).type).toBe('completed');
      const sent = stack.fake.requests.filter((r) => r.body?.responseMetadata?.modelConfigOverride?.modelMap?.videoGenModelConfig).at(-1)!;
      const cfg = sent.body.responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
      expect(cfg.imageReferences[0]).toMatch(/\/users\/.+\/content$/);
      expect(stack.fake.requests.some((r) => r.path === '/http/upload-file-v2/direct')).toBe(true);

      // Legacy text to video: a video media post is the parent, no references.
      const textId = await create({ prompt: 'legacy text video' });
      expect((await followTask(stack.url, textId, isTerminal)).at(-1).type).toBe('completed');
      const textSent = stack.fake.requests.filter((r) => String(r.body?.message).startsWith('legacy text video --mode=')).at(-1)!;
      const textCfg = textSent.body.responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
      expect(textCfg.parentPostId).toMatch(/^post-/);
      expect(textCfg.imageReferences).toBeUndefined();
      expect(stack.fake.requests.some((r) => r.path === '/rest/media/post/create' && r.body?.mediaType === 'MEDIA_POST_TYPE_VIDEO' && r.body?.prompt === 'legacy text video')).toBe(true);

      // Today's grok.com refuses the image form: the task fails and says why, on the first account tried.
      stack.fake.videoGeneration = '2026-08';
      const turnedDown = await create({ prompt: 'make it move again', image_url: uploaded.image_url });
      const last = (await followTask(stack.url, turnedDown, isTerminal)).at(-1);
      expect(last).toMatchObject({ type: 'failed', status: 'failed' });
      expect(last.message).toMatch(/grok\.com refused to make a video from an image .*text only now/);
    } finally {
      stack.fake.videoGeneration = '2026-08';
      await stack.admin('PUT', '/admin/api/settings', { video: { generation: '2026-08' } });
    }

    const text = new FormData();
    text.append('file', new Blob(['hello, not an image'], { type: 'image/png' }), 'fake.png');
    const bad = await fetch(`${stack.url}/v1/video/upload`, { method: 'POST', headers: auth, body: text });
    expect(bad.status).toBe(415);
    expect((await bad.json()).error.message).toMatch(/not a PNG, JPEG or WebP/);
  });

  it('lists newest first, filters by status, and deletes by id, status and all', async () => {
    const { tasks } = await getJson(`${stack.url}/v1/video/tasks`);
    expect(tasks.length).toBeGreaterThanOrEqual(4);
    const created = tasks.map((t: any) => Date.parse(t.created_at));
    expect(created).toEqual([...created].sort((x, y) => y - x));
    const failed = await getJson(`${stack.url}/v1/video/tasks?status=failed`);
    expect(failed.tasks.every((t: any) => t.status === 'failed')).toBe(true);
    const byStatus = await fetch(`${stack.url}/v1/video/tasks/status/cancelled`, { method: 'DELETE', headers: auth }).then((r) => r.json());
    expect(byStatus).toMatchObject({ status: 'success', count: 1 });
    const one = tasks.find((t: any) => t.status === 'completed').task_id;
    const byIds = await fetch(`${stack.url}/v1/video/tasks`, { method: 'DELETE', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task_ids: [one, 'task_none'] }) }).then((r) => r.json());
    expect(byIds.count).toBe(1);
    const all = await fetch(`${stack.url}/v1/video/tasks/all`, { method: 'DELETE', headers: auth }).then((r) => r.json());
    expect(all.count).toBe(tasks.length - 2);
    expect((await getJson(`${stack.url}/v1/video/tasks`)).tasks).toEqual([]);
  });

  it('serves the same tasks through the OpenAI Videos API (client.videos.*)', async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${stack.url}/v1` });
    const created = await client.videos.create({ model: 'grok-imagine-1.0-video' as any, prompt: 'a red fox', size: '1280x720', seconds: '4' });
    expectValid('VideoResource', created);
    expect(created.status).toBe('queued');
    await followTask(stack.url, created.id, isTerminal);
    const done = await client.videos.retrieve(created.id);
    expectValid('VideoResource', done);
    expect(done).toMatchObject({ status: 'completed', progress: 100, size: '1280x720', seconds: '6' });
    const content = await client.videos.downloadContent(created.id);
    const bytes = Buffer.from(await content.arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    const task = await getJson(`${stack.url}/v1/video/tasks/${created.id}`);
    expect(Buffer.from(await (await fetch(task.video_url)).arrayBuffer())).toEqual(bytes);
    const page = await client.videos.list();
    expect(page.data.map((v) => v.id)).toContain(created.id);
    for (const v of page.data) expectValid('VideoResource', v);
    const deleted = await client.videos.delete(created.id);
    expectValid('DeletedVideoResource', deleted);
    await expect(client.videos.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });
});
