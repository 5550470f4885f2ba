import { API_KEY } from '../helpers/stack.js';

export const auth = { authorization: `Bearer ${API_KEY}` };

export async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { headers: auth });
  return res.json();
}

/** Reads a task's SSE stream event by event; resolves with every event once `until` matches (or the stream ends). */
export async function followTask(base: string, id: string, until: (e: any) => boolean = () => false): Promise<any[]> {
  const res = await fetch(`${base}/v1/video/tasks/${id}/stream`, { headers: auth });
  if (res.status !== 200) throw new Error(`stream ${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  const events: any[] = [];
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return events;
      buf += Buffer.from(value).toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of block.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const e = JSON.parse(line.slice(6));
          events.push(e);
          if (until(e)) return events;
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
