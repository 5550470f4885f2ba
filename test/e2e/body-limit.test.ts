/**
 * security.max_body_mb is counted on the bytes read, for every route and encoding: a chunked
 * body (no Content-Length) over the limit gets 413 like a declared one (issue 15, item 3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendChunked } from '../helpers/raw-request.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: { security: { max_body_mb: 1 } } });
  await stack.importTokens(['body-limit-account']);
});
afterAll(() => stack.close());

const MB = 1024 * 1024;
const auth = { authorization: `Bearer ${API_KEY}` };

/** A multipart body: a prompt field, then one "image" file of `fileBytes`, as 64 KiB chunks. */
function* multipart(boundary: string, fileBytes: number): Generator<Buffer> {
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmake it blue\r\n`);
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`);
  // PNG signature first, so only the size can be what is wrong with it.
  yield Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (let left = fileBytes; left > 0; left -= 64 * 1024) yield Buffer.alloc(Math.min(64 * 1024, left), 7);
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

function* jsonChat(bytes: number): Generator<Buffer> {
  yield Buffer.from('{"model":"grok-3","messages":[{"role":"user","content":"');
  for (let left = bytes; left > 0; left -= 64 * 1024) yield Buffer.alloc(Math.min(64 * 1024, left), 'a');
  yield Buffer.from('"}]}');
}

function expect413(r: { status: number; body: string; sent: number }) {
  expect(r.status).toBe(413);
  const body = JSON.parse(r.body);
  expect(body.error.code).toBe('payload_too_large');
  expect(body.error.message).toContain('1 MB');
  // Refused while reading, not after swallowing all 3 MB.
  expect(r.sent).toBeLessThan(3 * MB);
}

describe('body limit on bytes read', () => {
  it('refuses a chunked 3 MB upload to /v1/images/edits with 413 under max_body_mb = 1', async () => {
    const b = 'x-boundary-413';
    const r = await sendChunked(`${stack.url}/v1/images/edits`, { ...auth, 'content-type': `multipart/form-data; boundary=${b}` }, multipart(b, 3 * MB));
    expect413(r);
  });

  it('refuses a chunked 3 MB upload to /v1/video/upload the same way', async () => {
    const b = 'x-boundary-video';
    const r = await sendChunked(`${stack.url}/v1/video/upload`, { ...auth, 'content-type': `multipart/form-data; boundary=${b}` }, multipart(b, 3 * MB));
    expect413(r);
  });

  it('refuses a chunked 3 MB JSON body with 413', async () => {
    const r = await sendChunked(`${stack.url}/v1/chat/completions`, { ...auth, 'content-type': 'application/json' }, jsonChat(3 * MB));
    expect413(r);
  });

  it('refuses a chunked body on an admin route the same way', async () => {
    const admin = await sendChunked(`${stack.url}/admin/api/tokens`, { authorization: 'Bearer admin-test-key', 'content-type': 'application/json' }, jsonChat(3 * MB));
    expect413(admin);
  });

  it('still takes a chunked body under the limit', async () => {
    const r = await sendChunked(`${stack.url}/v1/chat/completions`, { ...auth, 'content-type': 'application/json' }, jsonChat(200 * 1024));
    expect(r.status).toBe(200);
    const b = 'x-boundary-ok';
    const edit = await sendChunked(`${stack.url}/v1/images/edits`, { ...auth, 'content-type': `multipart/form-data; boundary=${b}` }, multipart(b, 300 * 1024));
    // Past the size check: the fake image is refused for its content or edited, never 413.
    expect(edit.status).not.toBe(413);
  });

  it('applies a changed max_body_mb from the next request', async () => {
    expect((await stack.admin('PUT', '/admin/api/settings', { security: { max_body_mb: 2 } })).status).toBe(200);
    const r = await sendChunked(`${stack.url}/v1/chat/completions`, { ...auth, 'content-type': 'application/json' }, jsonChat(1.5 * MB));
    expect(r.status).toBe(200);
    expect((await stack.admin('PUT', '/admin/api/settings', { security: { max_body_mb: 1 } })).status).toBe(200);
    expect413(await sendChunked(`${stack.url}/v1/chat/completions`, { ...auth, 'content-type': 'application/json' }, jsonChat(3 * MB)));
  });
});
