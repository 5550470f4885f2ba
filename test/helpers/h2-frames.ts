import { createRequire } from 'node:module';

/**
 * What an HTTP/2 client says before and with its requests, read off a copy of the decrypted
 * bytes: the first SETTINGS frame (ids and values in the order sent), the connection-level
 * WINDOW_UPDATE, PRIORITY frames, and for each HEADERS frame its priority fields and decoded
 * header block. Node's http2 server hides exactly these details (setting order, the priority
 * flag, header order), and they are what fingerprinting proxies look at.
 */

export interface H2Priority {
  exclusive: boolean;
  /** Stream the request depends on. */
  dependency: number;
  /** 1–256 (the wire byte plus one). */
  weight: number;
}

export interface H2Request {
  streamId: number;
  /** Pseudo-headers in wire order: `:method`, `:authority`, … */
  pseudo: string[];
  /** Regular header names in wire order. */
  names: string[];
  headers: [string, string][];
  /** The HEADERS frame's priority fields; null without the PRIORITY flag. */
  priority: H2Priority | null;
}

export interface H2Preface {
  settings: [number, number][] | null;
  windowUpdate: number | null;
  /** `stream:exclusive:dependency:weight` per PRIORITY frame, as the Akamai string lists them. */
  priorityFrames: string[];
  requests: H2Request[];
  /** Set when the bytes were not HTTP/2 (parsing stopped there). */
  error?: string;
}

interface HpackDecompressor {
  write(block: Buffer): void;
  execute(): void;
  read(): { name: string; value: string } | null;
}
const hpack = createRequire(import.meta.url)('hpack.js') as { decompressor: { create(o: { table: { size: number } }): HpackDecompressor } };

const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME = { HEADERS: 1, PRIORITY: 2, SETTINGS: 4, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG = { ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
/** The Akamai fingerprint's letters for the pseudo-headers. */
const PSEUDO_LETTER: Record<string, string> = { ':method': 'm', ':authority': 'a', ':scheme': 's', ':path': 'p', ':protocol': 'P' };

/** A parser fed with the client's bytes in order; `preface` fills in as frames complete. */
export function h2FrameReader(): { preface: H2Preface; feed(chunk: Buffer): void } {
  const preface: H2Preface = { settings: null, windowUpdate: null, priorityFrames: [], requests: [] };
  // One decoder per connection: HPACK's dynamic table spans every header block of the connection.
  const decoder = hpack.decompressor.create({ table: { size: 4096 } });
  let pending: Buffer = Buffer.alloc(0);
  let sawPreface = false;
  let block: { streamId: number; priority: H2Priority | null; parts: Buffer[] } | null = null;

  const endBlock = () => {
    decoder.write(Buffer.concat(block!.parts));
    decoder.execute();
    const headers: [string, string][] = [];
    for (let h = decoder.read(); h; h = decoder.read()) headers.push([h.name, h.value]);
    preface.requests.push({
      streamId: block!.streamId,
      pseudo: headers.filter(([n]) => n.startsWith(':')).map(([n]) => n),
      names: headers.filter(([n]) => !n.startsWith(':')).map(([n]) => n),
      headers,
      priority: block!.priority,
    });
    block = null;
  };

  const frame = (type: number, flags: number, streamId: number, p: Buffer) => {
    if (type === FRAME.SETTINGS && !(flags & FLAG.ACK) && !preface.settings) {
      preface.settings = [];
      for (let i = 0; i + 6 <= p.length; i += 6) preface.settings.push([p.readUInt16BE(i), p.readUInt32BE(i + 2)]);
    } else if (type === FRAME.WINDOW_UPDATE && streamId === 0 && preface.windowUpdate === null) {
      preface.windowUpdate = p.readUInt32BE(0) & 0x7fffffff;
    } else if (type === FRAME.PRIORITY) {
      const dep = p.readUInt32BE(0);
      preface.priorityFrames.push(`${streamId}:${dep >>> 31}:${dep & 0x7fffffff}:${p[4]! + 1}`);
    } else if (type === FRAME.HEADERS) {
      let start = 0;
      let end = p.length;
      if (flags & FLAG.PADDED) {
        end -= p[0]!;
        start = 1;
      }
      let priority: H2Priority | null = null;
      if (flags & FLAG.PRIORITY) {
        const dep = p.readUInt32BE(start);
        priority = { exclusive: dep >>> 31 === 1, dependency: dep & 0x7fffffff, weight: p[start + 4]! + 1 };
        start += 5;
      }
      block = { streamId, priority, parts: [p.subarray(start, end)] };
      if (flags & FLAG.END_HEADERS) endBlock();
    } else if (type === FRAME.CONTINUATION && block) {
      block.parts.push(p);
      if (flags & FLAG.END_HEADERS) endBlock();
    }
  };

  return {
    preface,
    feed(chunk) {
      if (preface.error) return;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!sawPreface) {
        if (pending.length < CLIENT_PREFACE.length) return;
        if (!pending.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) {
          preface.error = 'no HTTP/2 client preface';
          return;
        }
        sawPreface = true;
        pending = pending.subarray(CLIENT_PREFACE.length);
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        frame(pending[3]!, pending[4]!, pending.readUInt32BE(5) & 0x7fffffff, pending.subarray(9, 9 + length));
        pending = pending.subarray(9 + length);
      }
    },
  };
}

/**
 * The Akamai HTTP/2 fingerprint: `SETTINGS|WINDOW_UPDATE|PRIORITY frames|pseudo-header order`,
 * e.g. Chrome's `1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p`. Null before SETTINGS arrived.
 */
export function akamaiFingerprint(p: H2Preface): string | null {
  if (!p.settings) return null;
  const first = p.requests[0];
  return [
    p.settings.map(([id, v]) => `${id}:${v}`).join(';'),
    p.windowUpdate ?? '00',
    p.priorityFrames.length ? p.priorityFrames.join(',') : '0',
    first ? first.pseudo.map((n) => PSEUDO_LETTER[n] ?? n).join(',') : '',
  ].join('|');
}
