import type { IncomingMessage, ServerResponse } from 'node:http';

/** Uploads arrive base64-encoded in JSON, so allow well beyond the proxy's 50 MB body limit. */
const MAX_BODY_BYTES = 128 * 1024 * 1024;

export class BodyTooLarge extends Error {}

/** Reads the whole request body; rejects when the client goes away first. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge('body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed before the body ended'));
    });
  });
}

/** `a=1; b=2` → {a:'1', b:'2'}; tolerates missing spaces (`sso=x;cf_clearance=y`) and repeated headers. */
export function parseCookies(header: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  const text = Array.isArray(header) ? header.join(';') : header;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    // The first occurrence wins, like browsers send the most specific cookie first; __proto__ would poison the object.
    if (name && name !== '__proto__' && !Object.hasOwn(out, name)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

export type ParsedBody = { ok: true; value: any } | { ok: false; raw: string | null };

/** JSON when it parses; otherwise the raw text (null when empty). */
export function parseJson(buf: Buffer): ParsedBody {
  if (buf.length === 0) return { ok: false, raw: null };
  const text = buf.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, raw: text };
  }
}

/** Sends a JSON (or pre-serialised JSON string) body with an explicit length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
