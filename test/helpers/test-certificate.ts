import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  /** The CA certificate (PEM file): what a client is told to trust (`grok.ca_file`). */
  caFile: string;
  /** The server's key and certificate chain (PEM), for `tls.createServer`. */
  key: Buffer;
  cert: Buffer;
  remove(): void;
}

/**
 * A throw-away CA and a `localhost` server certificate it signed (SAN localhost, 127.0.0.1, ::1),
 * made with the `openssl` CLI at test time so no private key lives in the repository and nothing
 * expires in it. A CA plus a leaf, not one self-signed certificate: Chrome's verifier (BoringSSL in
 * the impersonating client) wants a trust anchor that is a CA and a leaf that is not.
 */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-cert-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
      if (err.code === 'ENOENT') throw new Error('the TLS tests need the `openssl` command line tool on PATH');
      throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
    }
  };
  try {
    openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=grok2api test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
    writeFileSync(file('server.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n');
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));
    return {
      caFile: file('ca.pem'),
      key: readFileSync(file('server.key')),
      cert: readFileSync(file('server.pem')),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
