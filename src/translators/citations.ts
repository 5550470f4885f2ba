/** Web sources of an answer, and where the text cites them. */
export interface Citation {
  url: string;
  title: string;
}

export function addCitation(list: Citation[], e: { url: string; title?: string }): void {
  if (!list.some((c) => c.url === e.url)) list.push({ url: e.url, title: e.title ?? e.url });
}

export interface CitationSpan {
  url: string;
  title: string;
  start: number;
  end: number;
}

/**
 * Spans of the `[[N]](url)` markers the upstream module writes into the answer, in text order
 * (the same rule the chat translator uses for `url_citation` annotations).
 */
export function citationSpans(text: string, citations: readonly Citation[]): CitationSpan[] {
  const out: CitationSpan[] = [];
  for (const c of citations) {
    const marker = `](${c.url})`;
    let from = 0;
    for (;;) {
      const at = text.indexOf(marker, from);
      if (at < 0) break;
      const start = text.lastIndexOf('[[', at);
      const end = at + marker.length;
      out.push({ url: c.url, title: c.title, start: Math.max(0, start), end });
      from = end;
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
