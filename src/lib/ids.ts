import { randomBytes } from 'node:crypto';

/** `<prefix><hex>` with 96 random bits; used for completion, lease and request ids. */
export function randomId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString('hex');
}
