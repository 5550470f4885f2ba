import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver on a real port: records every POST; answers 204, a failure status, or nothing. */
export interface Receiver {
  url: string;
  hits: { body: any; headers: IncomingMessage['headers']; at: number }[];
  /** `ok`: 204; a number: that status; `hang`: reads the body and never answers. */
  mode: 'ok' | 'hang' | number;
  /** Requests held open by `hang`. */
  held: ServerResponse[];
  kinds(): string[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    hits: [],
    mode: 'ok',
    held: [],
    kinds: () => r.hits.map((h) => h.body?.kind ?? '?'),
    close: async () => {
      for (const res of r.held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      r.hits.push({ body, headers: req.headers, at: Date.now() });
      if (r.mode === 'hang') return void r.held.push(res);
      res.statusCode = r.mode === 'ok' ? 204 : r.mode;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}
