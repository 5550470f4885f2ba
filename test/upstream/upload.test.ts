import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { uploadFile } from '../../src/upstream/grok/upload.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { testConfig } from './helpers.js';
import { GrokClient } from '../../src/upstream/grok/client.js';

let server: Server;
let config: Config;
let reply: { status: number; body: string; headers?: Record<string, string> };
let last: { url: string; headers: IncomingHttpHeaders; body: any } | null = null;
const dispatcher = () => createGrokTransport(() => config);

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      last = { url: req.url ?? '', headers: req.headers, body: JSON.parse(body) };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  config = testConfig({ grok: { base_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } });
});
afterAll(() => new Promise((r) => server.close(r)));

describe('uploadFile', () => {
  const file = { name: 'image.png', mime: 'image/png', data: Buffer.from('PNGDATA') };

  it('posts base64 JSON with the account cookie and returns the ids', async () => {
    reply = { status: 200, body: '{"fileMetadataId":"file_1","fileUri":"users/u/file_1/content"}' };
    const d = await dispatcher();
    const out = await uploadFile(new GrokClient(config, d), 'sso=tok-up', file, new AbortController().signal);
    expect(out).toEqual({ fileId: 'file_1', fileUri: 'users/u/file_1/content' });
    expect(last!.url).toBe('/rest/app-chat/upload-file');
    expect(last!.body).toEqual({ fileName: 'image.png', fileMimeType: 'image/png', content: Buffer.from('PNGDATA').toString('base64') });
    expect(last!.headers.cookie).toBe('sso=tok-up; sso-rw=tok-up');
    await d.close();
  });

  it('accepts fileId and classifies failures', async () => {
    const d = await dispatcher();
    reply = { status: 200, body: '{"fileId":"f2"}' };
    expect(await uploadFile(new GrokClient(config, d), 't', file, new AbortController().signal)).toEqual({ fileId: 'f2', fileUri: '' });
    reply = { status: 401, body: '{"error":{"message":"invalid-credentials"}}' };
    const e = await uploadFile(new GrokClient(config, d), 't', file, new AbortController().signal).catch((x) => x);
    expect([e.code, e.effect, e.disposition]).toEqual(['upstream_auth_failed', 'invalid', 'retry-other']);
    reply = { status: 200, body: '{"nothing":true}' };
    expect((await uploadFile(new GrokClient(config, d), 't', file, new AbortController().signal).catch((x) => x)).code).toBe('upstream_bad_response');
    await d.close();
  });
});
