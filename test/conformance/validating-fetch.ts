import { expectValid } from '../helpers/openapi.js';

/**
 * A `fetch` for the real clients that checks every chat completions body and SSE event they
 * receive against the OpenAI spec, then hands the untouched response on. Problems are collected
 * (a throw inside a client's fetch would be reported as a network error) and asserted by tests.
 */
export function validatingFetch() {
  const problems: string[] = [];
  let checked = 0;
  const check = (schema: string, value: unknown) => {
    checked++;
    try {
      expectValid(schema, value);
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/chat/completions')) return res;
    const text = await res.clone().text();
    if (res.status !== 200) {
      check('ErrorResponse', JSON.parse(text));
    } else if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const data = JSON.parse(line.slice(6)) as Record<string, unknown>;
        check(data.error ? 'ErrorResponse' : 'CreateChatCompletionStreamResponse', data);
      }
    } else {
      check('CreateChatCompletionResponse', JSON.parse(text));
    }
    return res;
  };
  return { fetch: fetchFn as typeof fetch, problems, checked: () => checked };
}
