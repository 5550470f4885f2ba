/** HTTP requests whose body is sent chunk by chunk, as an attacker (or a slow client) would. */
import { request } from 'node:http';

export interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Body bytes written before the response (or the connection's end) arrived. */
  sent: number;
  /** ms from the first byte sent to the end of the response. */
  ms: number;
}

/**
 * POSTs `chunks` with `Transfer-Encoding: chunked` (no Content-Length), `gapMs` apart, and stops
 * sending as soon as the response starts. Resolves with the response; rejects only if the
 * connection ends without any response.
 */
export function sendChunked(url: string, headers: Record<string, string>, chunks: Iterable<Buffer>, gapMs = 0): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sent, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const it = chunks[Symbol.iterator]();
    const pump = () => {
      if (answered || req.destroyed) return;
      const next = it.next();
      if (next.done) return void req.end();
      sent += next.value.length;
      const more = req.write(next.value);
      const go = () => (gapMs ? setTimeout(pump, gapMs) : setImmediate(pump));
      if (more) go();
      else req.once('drain', go);
    };
    pump();
  });
}
