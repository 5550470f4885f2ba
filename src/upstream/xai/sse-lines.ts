/**
 * The `data:` payloads of an SSE body, split on line ends across chunk boundaries and decoded as
 * UTF-8 without breaking a character split between chunks. Comments and other fields are skipped.
 */
export async function* sseData(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line.startsWith('data:')) yield line.slice(line.charAt(5) === ' ' ? 6 : 5);
      nl = buf.indexOf('\n');
    }
  }
  buf += decoder.decode();
  if (buf.startsWith('data:')) yield buf.slice(buf.charAt(5) === ' ' ? 6 : 5).replace(/\r$/, '');
}
