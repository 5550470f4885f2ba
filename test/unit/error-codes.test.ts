import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_VISIBLE_CODES, ERROR_CODES, type ErrorCode } from '../../src/error-codes.js';

/** `status → codes` from the README's "### Errors" table (rows `| 400 | \`a\`, \`b\` | when |`). */
function readmeErrorTable(): Map<string, number> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
  const codes = new Map<string, number>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (!/^\d{3}$/.test(cells[1] ?? '')) continue;
    for (const m of (cells[2] ?? '').matchAll(/`([a-z_]+)`/g)) {
      expect(codes.has(m[1]!), `${m[1]} listed twice in the README`).toBe(false);
      codes.set(m[1]!, Number(cells[1]));
    }
  }
  return codes;
}

describe('error codes', () => {
  it('the README error table lists exactly the codes of src/error-codes.ts, with their status', () => {
    const table = readmeErrorTable();
    const missing = CLIENT_VISIBLE_CODES.filter((c) => !table.has(c));
    const unknown = [...table.keys()].filter((c) => !(c in ERROR_CODES));
    expect(missing, 'codes the server can answer with but the README does not list').toEqual([]);
    expect(unknown, 'codes the README lists but the server never uses').toEqual([]);
    for (const [code, status] of table) expect(ERROR_CODES[code as ErrorCode], code).toContain(status);
  });
});
