/**
 * A fake OpenTelemetry collector: an OTLP/HTTP receiver on a real port that takes trace exports
 * (`POST /v1/traces`) in either encoding, OTLP/JSON or protobuf (decoded by the small wire-format
 * reader below, which knows the few fields of the trace schema the tests read), and keeps the spans.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export type AttrValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  /** 0 unset, 1 ok, 2 error */
  statusCode: number;
  resource: Record<string, AttrValue>;
}

export interface ReceivedExport {
  path: string;
  contentType: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OtlpReceiver {
  url: string;
  exports: ReceivedExport[];
  spans(): ReceivedSpan[];
  /** Resolves once spans matching `pred` have arrived (fails after `timeoutMs`). */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      exports.push({ path: req.url ?? '', contentType, headers: req.headers, body: Buffer.concat(chunks) });
      // An empty ExportTraceServiceResponse (full success) in the request's encoding.
      if (contentType.includes('json')) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const spans = () => exports.filter((e) => e.path === '/v1/traces').flatMap(decodeExport);
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans,
    async waitFor(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = spans();
        if (pred(all)) return all;
        if (Date.now() > deadline) throw new Error(`spans did not arrive; got: ${all.map((s) => s.name).join(', ') || 'none'}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function decodeExport(e: ReceivedExport): ReceivedSpan[] {
  return e.contentType.includes('json') ? fromJson(JSON.parse(e.body.toString('utf8'))) : fromProtobuf(e.body);
}

// ---- OTLP/JSON ----

type JsonAnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
type JsonKv = { key: string; value: JsonAnyValue };

function jsonAttrs(kvs: JsonKv[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const { key, value } of kvs ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

function fromJson(body: any): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = jsonAttrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          attributes: jsonAttrs(s.attributes),
          events: (s.events ?? []).map((ev: { name: string; attributes?: JsonKv[] }) => ({ name: ev.name, attributes: jsonAttrs(ev.attributes) })),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

// ---- protobuf wire format ----

type Field = number | bigint | Buffer;

/** The fields of one message, by number, in order (varints as bigint, fixed as bigint, bytes as Buffer). */
function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const no = tag >> 3;
    let value: Field;
    switch (tag & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = buf.readBigUInt64LE(i);
        i += 8;
        break;
      case 2: {
        const len = Number(varint());
        value = buf.subarray(i, i + len);
        i += len;
        break;
      }
      case 5:
        value = buf.readUInt32LE(i);
        i += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${tag & 7}`);
    }
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

const all = (m: Map<number, Field[]>, no: number) => (m.get(no) ?? []) as Buffer[];
const one = (m: Map<number, Field[]>, no: number) => m.get(no)?.[0];
const str = (m: Map<number, Field[]>, no: number) => ((one(m, no) as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
const hex = (m: Map<number, Field[]>, no: number) => ((one(m, no) as Buffer | undefined) ?? Buffer.alloc(0)).toString('hex');

function pbAttrs(kvs: Buffer[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs) {
    const f = fields(kv);
    const v = fields((one(f, 2) as Buffer | undefined) ?? Buffer.alloc(0));
    if (v.has(1)) out[str(f, 1)] = str(v, 1);
    else if (v.has(2)) out[str(f, 1)] = one(v, 2) === 1n;
    else if (v.has(3)) out[str(f, 1)] = Number(BigInt.asIntN(64, one(v, 3) as bigint));
    else if (v.has(4)) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(one(v, 4) as bigint);
      out[str(f, 1)] = b.readDoubleLE(0);
    }
  }
  return out;
}

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of all(fields(body), 1)) {
    const r = fields(rs);
    const resource = pbAttrs(all(fields((one(r, 1) as Buffer | undefined) ?? Buffer.alloc(0)), 1));
    for (const ss of all(r, 2)) {
      for (const raw of all(fields(ss), 2)) {
        const s = fields(raw);
        const status = fields((one(s, 15) as Buffer | undefined) ?? Buffer.alloc(0));
        out.push({
          traceId: hex(s, 1),
          spanId: hex(s, 2),
          parentSpanId: hex(s, 4),
          name: str(s, 5),
          kind: Number(one(s, 6) ?? 0n),
          attributes: pbAttrs(all(s, 9)),
          events: all(s, 11).map((ev) => {
            const e = fields(ev);
            return { name: str(e, 2), attributes: pbAttrs(all(e, 3)) };
          }),
          statusCode: Number(one(status, 3) ?? 0n),
          resource,
        });
      }
    }
  }
  return out;
}
