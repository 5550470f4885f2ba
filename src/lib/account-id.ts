import { createHash } from 'node:crypto';

/**
 * Turns what an operator pastes into the bare `sso` cookie value, or null when it cannot be one.
 * Accepts the bare value, `sso=VALUE`, or a whole cookie header (`a=b; sso=VALUE; c=d`), because
 * operators copy whichever the browser's dev tools show them. A value with whitespace inside is
 * rejected: it would be sent verbatim in a Cookie header and can never be a valid token.
 */
export function normalizeToken(raw: string): string | null {
  let token = raw.trim();
  if (token.includes(';')) {
    // A cookie string: take the `sso` pair exactly (not `sso-rw`, which grok also sets).
    token = '';
    for (const pair of raw.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim() === 'sso') {
        token = pair.slice(eq + 1).trim();
        break;
      }
    }
  } else if (token.startsWith('sso=')) {
    token = token.slice(4).trim();
  }
  // Cookie values may be quoted (RFC 6265 cookie-value grammar).
  if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) token = token.slice(1, -1);
  if (token === '' || /\s/.test(token)) return null;
  return token;
}

/**
 * The short stable id of an account: the first 12 hex chars of sha256(token). Safe to log and
 * show (the token cannot be recovered from it); 48 bits make a collision in one pool negligible.
 */
export function accountIdFor(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}
