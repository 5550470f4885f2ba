import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makePng as solidPng } from '../fake-grok/media-fixtures.js';

/** A real, decodable w×h RGB PNG (the fake grok.com's encoder, one colour). */
export function makePng(w = 2, h = 2): Buffer {
  return solidPng(w, h, [40, 90, 200]);
}

/** A minimal PCM WAV (RIFF/WAVE header + a few silent samples). */
export function makeWav(): Buffer {
  const data = Buffer.alloc(64);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

export const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

export const dataUri = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString('base64')}`;

export interface FileServer {
  url: string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}

/** A local HTTP server with fixed routes (the "remote" host the tests allowlist). */
export async function startFileServer(routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>, host = '127.0.0.1'): Promise<FileServer> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes[(req.url ?? '').split('?')[0]!];
    if (route) route(req, res);
    else res.writeHead(404).end('no');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    hits,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
