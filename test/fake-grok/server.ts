/**
 * A fake grok.com (REST, modeId generation) on a real node:http server, for tests and benchmarks.
 * Protocol reference: docs/upstream-grok.md §1.2–§1.5, §2.1–§2.3, §4, §5, §6.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { AccountBook } from './accounts.js';
import type { BenchMode } from './bench-mode.js';
import { handleChat } from './chat.js';
import { CONTROL_PREFIX, handleControl } from './control.js';
import type { Exchange, FakeState } from './exchange.js';
import { BodyTooLarge, parseCookies, parseJson, readBody, sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';
import { Recorder } from './recorder.js';
import { attachImagine } from './imagine.js';
import { handleMedia } from './media.js';
import { handleImagineQuota, handleRateLimits, handleUpload, IMAGINE_QUOTA_PATH } from './rest.js';
import { BIRTH_DATE_PATH, handleBirthDate, handleNsfw, handleProductTos, handleTos, NSFW_PATH, PRODUCT_TOS_PATH, TOS_PATH, userSettings } from './grpc.js';
import { AUTH_SESSION_PATH, attachMgw, handleAuthSession, handleGatewayGet, MGW_PATH } from './mgw.js';
import { handleUploadV2 } from './mgw-upload.js';
import { ScriptBook } from './scenarios.js';
import type { AccountBehavior, FakeGrok, QuotaView, RecordedRequest, Scenario, ScriptMatch, UploadRecord, UserSettings, VideoGeneration } from './types.js';

export type * from './types.js';

export const DEFAULT_ANSWER = 'Hello from fake grok!';

/** New conversations and follow-up turns share one handler. */
const CHAT_PATH = /^\/rest\/app-chat\/conversations\/(?:new|[^/]+\/responses)$/;

type Handler = (state: FakeState, ex: Exchange) => void | Promise<void>;

function route(path: string): Handler | null {
  if (CHAT_PATH.test(path)) return handleChat;
  if (path === '/rest/rate-limits') return handleRateLimits;
  if (path === IMAGINE_QUOTA_PATH) return handleImagineQuota;
  if (path === PRODUCT_TOS_PATH) return handleProductTos;
  if (path === '/rest/app-chat/upload-file') return handleUpload;
  if (path === TOS_PATH) return handleTos;
  if (path === NSFW_PATH) return handleNsfw;
  if (path === BIRTH_DATE_PATH) return handleBirthDate;
  if (path === '/http/upload-file-v2/direct') return handleUploadV2;
  if (path === AUTH_SESSION_PATH) return handleAuthSession;
  if (path === MGW_PATH) return handleGatewayGet;
  return null;
}

/** Records the request, then hands it to its endpoint. */
async function serveGrok(state: FakeState, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const cookies = parseCookies(req.headers.cookie);
  const rec = {
    method: req.method ?? 'GET',
    path,
    headers: req.headers,
    cookies,
    body: null,
    token: cookies.sso || null,
    receivedAt: Date.now(),
    closedAt: null,
    clientAborted: false,
  } as Omit<RecordedRequest, 'id'> as RecordedRequest;
  const controller = new AbortController();
  const ex: Exchange = { req, res, rec, body: { ok: false, raw: null }, signal: controller.signal, closed: false, destroyedByServer: false };
  let recorded = false;
  res.once('close', () => {
    ex.closed = true;
    rec.closedAt = Date.now();
    // writableFinished: the whole response reached the socket; anything less means the client left early.
    rec.clientAborted = !res.writableFinished && !ex.destroyedByServer;
    controller.abort();
    if (recorded) state.recorder.changed();
  });

  let raw: Buffer | null = null;
  try {
    raw = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) sendJson(res, 413, ERROR_BODIES.badClient);
  }
  if (raw) {
    ex.body = parseJson(raw);
    ex.rawBody = raw;
    (ex as Exchange & { raw?: Buffer }).raw = raw; // multipart uploads need the bytes
    rec.body = ex.body.ok ? ex.body.value : ex.body.raw;
  }
  state.recorder.add(rec);
  recorded = true;
  if (!raw || ex.closed) return;
  if (await handleMedia(state, ex, path, raw)) return;

  const handler = route(path);
  if (!handler) return sendJson(res, 404, ERROR_BODIES.notFound);
  const method = path === AUTH_SESSION_PATH || path === MGW_PATH ? 'GET' : 'POST';
  if (req.method !== method) return sendJson(res, 405, ERROR_BODIES.methodNotAllowed, { allow: method });
  await handler(state, ex);
}

class FakeGrokServer implements FakeGrok {
  url = '';
  tlsUrl?: string;
  tlsServer?: Http2SecureServer;
  readonly requests: RecordedRequest[];
  readonly uploads: UploadRecord[];

  constructor(
    private readonly server: Server,
    private readonly state: FakeState,
  ) {
    this.requests = state.recorder.requests;
    this.uploads = state.uploads;
  }

  get defaultAnswer(): string {
    return this.state.defaultAnswer;
  }

  set defaultAnswer(v: string) {
    this.state.defaultAnswer = v;
  }

  get videoGeneration(): VideoGeneration {
    return this.state.videoGeneration;
  }

  set videoGeneration(v: VideoGeneration) {
    this.state.videoGeneration = v;
  }

  close(): Promise<void> {
    this.tlsServer?.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // Streams still running (and idle keep-alive sockets) would otherwise hold close() open.
      this.server.closeAllConnections();
    });
  }

  reset(): void {
    this.state.accounts.reset();
    this.state.scripts.clear();
    this.state.recorder.reset();
    this.state.uploads.length = 0;
    this.state.defaultAnswer = DEFAULT_ANSWER;
    this.state.videoGeneration = '2026-08';
  }

  setAccount(token: string, b: Partial<AccountBehavior>): void {
    this.state.accounts.set(token, b);
  }

  script(match: ScriptMatch, scenario: Scenario): void {
    this.state.scripts.add(match, scenario);
  }

  quota(token: string, mode: string): QuotaView {
    return this.state.accounts.quota(token, mode);
  }

  activeChats(token?: string): number {
    return this.state.accounts.activeChats(token);
  }

  maxConcurrentChats(token: string): number {
    return this.state.accounts.maxConcurrentChats(token);
  }

  userSettings(token: string): UserSettings {
    return { ...userSettings(this.state, token) };
  }

  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest> {
    return this.state.recorder.waitFor(pred, timeoutMs);
  }
}

/**
 * `tls`: also listen on an HTTPS port (`tlsUrl`, `https://localhost:<port>`) with the same
 * endpoints, HTTP/2 or HTTP/1.1 by ALPN like grok.com's edge (WebSocket upgrades over HTTP/1.1):
 * the benchmark's upstream for the production client, TLS included.
 */
export async function startFakeGrok(opts: { port?: number; host?: string; requireStatsig?: boolean; bench?: BenchMode; tls?: { key: Buffer; cert: Buffer; port?: number } } = {}): Promise<FakeGrok & { tlsUrl?: string }> {
  const state: FakeState = {
    accounts: new AccountBook(),
    scripts: new ScriptBook(),
    recorder: new Recorder(),
    uploads: [],
    counters: { turn: 0, file: 0 },
    requireStatsig: opts.requireStatsig ?? false,
    defaultAnswer: DEFAULT_ANSWER,
    videoGeneration: '2026-08',
  };
  // Streams are written line by line; Nagle would merge and delay them.
  const server = createServer({ noDelay: true });
  const fake = new FakeGrokServer(server, state);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    // Benchmark mode (bench-mode.ts) serves its fixed answer without accounts or recording.
    if (opts.bench?.handle(req, res, path)) return;
    const work = path.startsWith(CONTROL_PREFIX) ? handleControl(state, fake, req, res, path) : serveGrok(state, req, res, path);
    // Bad input must never take the server down: answer 500 if still possible, else drop the connection.
    work.catch(() => {
      if (!res.headersSent) sendJson(res, 500, ERROR_BODIES.internal);
      else res.destroy();
    });
  };
  const listeners = (srv: Server) => {
    attachMgw(state, srv, opts.bench); // the mgw WebSocket gateway (docs/upstream-grok.md §3)
    attachImagine(srv, state);
    srv.on('request', onRequest);
  };
  listeners(server);
  const host = opts.host ?? '127.0.0.1';
  if (opts.tls) {
    const tls = createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: true });
    tls.on('secureConnection', (s) => s.setNoDelay(true));
    // The compat API hands HTTP/2 requests over with the same req/res methods the handlers use.
    listeners(tls as unknown as Server);
    await new Promise<void>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(opts.tls!.port ?? 0, host, () => resolve());
    });
    fake.tlsServer = tls;
    fake.tlsUrl = `https://localhost:${(tls.address() as AddressInfo).port}`;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return fake;
}
