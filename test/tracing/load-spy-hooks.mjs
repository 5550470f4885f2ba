// Module resolution hooks (see load-spy.mjs): they run on the loader thread, hence the file.
import { appendFileSync } from 'node:fs';

let file;
export function initialize(data) {
  file = data?.file;
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (file && result.url.includes('@opentelemetry')) appendFileSync(file, `${result.url}\n`);
  return result;
}
