/**
 * The doctor reaches grok.com only through GrokClient, as the product does: every socket and
 * request the transport opens during a full run was asked of a GrokClient, the imagine handshake
 * and the TCP/TLS probe included.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runDoctor } from '../../src/doctor/run-doctor.js';
import { GrokClient } from '../../src/upstream/grok/client.js';
import { createGrokTransport } from '../../src/upstream/grok/transport/index.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { testConfig } from '../upstream/helpers.js';

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('doctor and GrokClient', () => {
  it('opens every grok.com socket and request through the client, the imagine handshake and the TCP/TLS probe included', async () => {
    const config = testConfig({ grok: { base_url: fake.url }, timeout: { connect_sec: 3, first_byte_sec: 5, idle_sec: 5 } });
    const transport = await createGrokTransport(() => config);
    const viaClient = vi.spyOn(GrokClient.prototype, 'openWebSocket');
    const viaTransport = vi.spyOn(transport, 'openWebSocket');
    const requestsViaClient = vi.spyOn(GrokClient.prototype, 'request');
    const requestsViaTransport = vi.spyOn(transport, 'request');
    try {
      const report = await runDoctor({ config, transport, token: 'doctor-client-token-0001' });
      expect(report.layers.find((l) => l.id === 'imagine_ws')?.status).toBe('ok');
    } finally {
      await transport.close();
    }
    const paths = (calls: unknown[][]) => calls.map((c) => new URL(String(c[0])).pathname).sort();
    expect(paths(viaTransport.mock.calls)).toEqual(['/ws/imagine/listen', '/ws/mgw/']);
    expect(paths(viaClient.mock.calls)).toEqual(paths(viaTransport.mock.calls));
    // Requests too: the TCP/TLS probe, the session lookup, the rate limits, the REST turn.
    expect(requestsViaTransport.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(paths(requestsViaClient.mock.calls)).toEqual(paths(requestsViaTransport.mock.calls));
  });
});
