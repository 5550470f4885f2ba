/** Shared helpers of the fake-grok tests (real sockets, global fetch). */
import type { FakeGrok } from './server.js';

export const CHAT = '/rest/app-chat/conversations/new';

export function post(fake: FakeGrok, path: string, body: unknown, token: string | null = 'tok-1', init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-statsig-id': 'eDE6dGVzdA==' };
  if (token !== null) headers.cookie = `sso=${token}; sso-rw=${token}`;
  return fetch(fake.url + path, {
    method: 'POST',
    headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

export const chat = (fake: FakeGrok, message: string, token: string | null = 'tok-1', modeId = 'fast', init: RequestInit = {}) =>
  post(fake, CHAT, { message, modeId, temporary: true }, token, init);

/** The NDJSON body as parsed objects. */
export async function ndjson(res: Response): Promise<any[]> {
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** The `result.response` objects of a stream, without the conversation line. */
export const responses = (lines: any[]) => lines.filter((l) => l.result?.response).map((l) => l.result.response);

/** Reads a body until it ends or fails; returns the text received and the error, if any. */
export async function readUntilError(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: null };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Status of a response, its body drained so the connection is reusable. */
export async function statusOf(pending: Promise<Response>): Promise<number> {
  const res = await pending;
  await res.arrayBuffer();
  return res.status;
}
