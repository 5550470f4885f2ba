/**
 * Builders for grok.com's NDJSON answer lines (modeId / G2 shape) and its JSON error bodies.
 * Each builder returns one line without the trailing newline.
 */

const errorBody = (code: number, message: string) => JSON.stringify({ error: { code, message, details: [] } });

/** HTTP error bodies; serialised once because they are sent verbatim. */
export const ERROR_BODIES = {
  invalidCredentials: errorBody(16, 'invalid-credentials'),
  antiBot: errorBody(7, 'Request rejected by anti-bot rules.'),
  blocked: errorBody(7, 'User is blocked: blocked-user'),
  tooManyRequests: errorBody(8, 'Too many requests'),
  badClient: errorBody(3, 'Invalid request. Please update your client'),
  invalidJson: errorBody(3, 'Invalid JSON body'),
  notFound: errorBody(5, 'Not found'),
  methodNotAllowed: errorBody(12, 'Method not allowed'),
  internal: errorBody(13, 'Internal error'),
} as const;

/** In-band error lines of a 200 stream, one per error-in-stream variant. */
export const STREAM_ERROR_LINES = {
  antibot: errorBody(7, 'Request rejected by anti-bot rules.'),
  'rate-limited': JSON.stringify({ error: { message: 'rate limited', code: 8 } }),
  'usage-limit': JSON.stringify({
    result: {
      response: {
        error: { message: "You've reached your usage limit. Please try again later." },
        cardAttachment: { jsonData: JSON.stringify({ image_chunk: { progress: 100, systemErrCode: 'rate_limit' } }) },
      },
    },
  }),
  'stream-errors': JSON.stringify({
    result: { response: { modelResponse: { streamErrors: [{ message: 'upstream stream failed' }] } } },
  }),
} as const;

const response = (r: Record<string, unknown>) => JSON.stringify({ result: { response: r } });

export function conversationLine(conversationId: string): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    result: {
      conversation: { conversationId, title: 'New conversation', starred: false, createTime: now, modifyTime: now, temporary: true },
    },
  });
}

export function userResponseLine(responseId: string, message: string): string {
  return response({
    userResponse: { responseId, message, sender: 'human', createTime: new Date().toISOString(), partial: false },
    isThinking: false,
    isSoftStop: false,
    responseId,
  });
}

export type ThinkingTag = 'header' | 'summary' | 'analysis';

export function thinkingLine(token: string, tag: ThinkingTag, stepId: number, responseId: string, rolloutId = 'Grok'): string {
  return response({ token, isThinking: true, messageTag: tag, messageStepId: stepId, rolloutId, responseId });
}

export function answerTokenLine(token: string, responseId: string): string {
  return response({ token, isThinking: false, messageTag: 'final', responseId });
}

export interface ModelResponseInput {
  responseId: string;
  parentResponseId: string;
  message: string;
}

export function modelResponseLine(m: ModelResponseInput): string {
  return response({
    modelResponse: {
      responseId: m.responseId,
      message: m.message,
      sender: 'assistant',
      createTime: new Date().toISOString(),
      parentResponseId: m.parentResponseId,
      partial: false,
      generatedImageUrls: [],
      metadata: { llm_info: { modelHash: 'fake-grok-hash' } },
    },
  });
}

export function finalMetadataLine(): string {
  return response({ finalMetadata: { followUpSuggestions: [], feedbackLabels: [], toolsUsed: {} } });
}

export interface Source {
  url: string;
  title?: string;
}

function titleOf(s: Source): string {
  if (s.title) return s.title;
  try {
    return new URL(s.url).hostname;
  } catch {
    return s.url;
  }
}

/** The web_search tool card, its raw results, and one citation card per source. */
export function searchLines(cardId: string, query: string, sources: Source[], responseId: string): string[] {
  const args = JSON.stringify({ query });
  const toolToken =
    `<xai:tool_usage_card><xai:tool_usage_card_id>${cardId}</xai:tool_usage_card_id>` +
    `<xai:tool_name>web_search</xai:tool_name><xai:tool_args><![CDATA[${args}]]></xai:tool_args></xai:tool_usage_card>`;
  const lines = [
    response({
      messageTag: 'tool_usage_card',
      isThinking: true,
      toolUsageCardId: cardId,
      toolUsageCard: { toolUsageCardId: cardId, webSearch: { args: { query } } },
      token: toolToken,
      responseId,
    }),
    response({
      messageTag: 'raw_function_result',
      isThinking: true,
      toolUsageCardId: cardId,
      webSearchResults: { results: sources.map((s) => ({ url: s.url, title: titleOf(s), preview: '' })) },
      responseId,
    }),
  ];
  sources.forEach((s, i) => {
    const card = { id: citeId(i), type: 'render_inline_citation', cardType: 'citation_card', url: s.url };
    lines.push(response({ cardAttachment: { jsonData: JSON.stringify(card) }, responseId }));
  });
  return lines;
}

export const citeId = (i: number) => `cite_${i + 1}`;

/** The inline tag grok.com puts in answer text where citation card `i` is rendered. */
export function citationTag(i: number): string {
  return `<grok:render card_id="${citeId(i)}" card_type="citation" type="render_inline_citation"></grok:render>`;
}
