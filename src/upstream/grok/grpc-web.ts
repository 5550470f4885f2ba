/**
 * gRPC-web framing (docs/upstream-grok.md §8): each message is 1 flag byte (0x00 data,
 * 0x80 trailer) + 4-byte big-endian length + payload. The status comes in the response headers
 * or in the trailer frame (`grpc-status:0`); a 200 without any grpc-status counts as success
 * (as the Python versions do), and grpc-web-text bodies are base64.
 */

export function grpcFrame(payload: Uint8Array, flag = 0x00): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(out, 5);
  return out;
}

/** ToS acceptance: field 2 (varint) = 1. */
export const TOS_PAYLOAD = Buffer.from([0x10, 0x01]);

/** NSFW switch: field 1 = {field 2 = bool}, field 2 = {field 1 = "always_show_nsfw_content"}. */
export function nsfwPayload(enabled: boolean): Buffer {
  const name = Buffer.from('always_show_nsfw_content', 'ascii');
  return Buffer.concat([Buffer.from([0x0a, 0x02, 0x10, enabled ? 0x01 : 0x00, 0x12, name.length + 2, 0x0a, name.length]), name]);
}

export interface GrpcStatus {
  code: number;
  message: string;
}

/** Reads grpc-status from headers or the trailer frame; code 0 when absent. */
export function grpcStatus(headers: Record<string, string | string[] | undefined>, body: Buffer, contentType = ''): GrpcStatus {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (h('grpc-status') !== undefined) return { code: Number(h('grpc-status')), message: decodeURIComponent(h('grpc-message') ?? '') };
  let bytes = body;
  if (contentType.includes('grpc-web-text')) bytes = Buffer.from(body.toString('ascii').replace(/\s+/g, ''), 'base64');
  for (let i = 0; i + 5 <= bytes.length; ) {
    const flag = bytes[i]!;
    const len = bytes.readUInt32BE(i + 1);
    const payload = bytes.subarray(i + 5, i + 5 + len);
    if (flag & 0x80) {
      const fields: Record<string, string> = {};
      for (const line of payload.toString('utf8').split(/\r?\n/)) {
        const c = line.indexOf(':');
        if (c > 0) fields[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      if (fields['grpc-status'] !== undefined) return { code: Number(fields['grpc-status']), message: decodeURIComponent(fields['grpc-message'] ?? '') };
    }
    i += 5 + len;
  }
  return { code: 0, message: '' };
}

/** gRPC code → the HTTP status the classifier understands (16→401, 7→403, 8→429, 4→504, 14→503, else 502). */
export function grpcToHttp(code: number): number {
  return ({ 16: 401, 7: 403, 8: 429, 4: 504, 14: 503 } as Record<number, number>)[code] ?? 502;
}
