import type { ServerResponse } from 'node:http';
import { json, sseData, startScriptedApi, type ApiRequest, type ScriptedApi } from './fake-api.js';

/**
 * A local stand-in for the Gemini API (generativelanguage `v1beta`), enough for the real Gemini CLI to run offline
 * with `GOOGLE_GEMINI_BASE_URL` pointing here: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` (what a
 * turn uses), `:generateContent` (what the CLI's helpers use, e.g. the model router of the "auto" model), and a
 * logged 404 for anything else. Each test scripts the conversation: the replies to the CLI's next calls, in order.
 */
export type GeminiReply =
  /** A plain answer, streamed in two chunks. */
  | { text: string }
  /** A function call, e.g. `list_directory` with `{"dir_path": "."}`; the CLI runs it and calls again with its response. */
  | { functionCall: { name: string; args: Record<string, unknown> } }
  /** An HTTP error with the API's error body, e.g. 401 UNAUTHENTICATED or 500 INTERNAL, and its `details` if any. */
  | { error: { status: number; code: string; message: string; details?: unknown[] } };

/**
 * A 429 as the Gemini API answers a free-tier key over a quota (the error shape of google.rpc): RESOURCE_EXHAUSTED,
 * "Please retry in …" in the message, a QuotaFailure naming the quota (per minute, or per day), a Help link, and for a
 * per-minute quota a RetryInfo with the `retryDelay` the CLI reads.
 */
export function quotaExhausted(quota: { perDay: true } | { retryDelaySec: number }): GeminiReply {
  const perDay = 'perDay' in quota;
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
  const retry = perDay ? '' : `\nPlease retry in ${quota.retryDelaySec}.${'4'.repeat(9)}s.`;
  return {
    error: {
      status: 429,
      code: 'RESOURCE_EXHAUSTED',
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, head ' +
        'to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. ' +
        `\n* Quota exceeded for metric: ${metric}, limit: ${perDay ? 250 : 10}, model: gemini-2.5-flash${retry}`,
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: metric,
              quotaId: `GenerateRequestsPer${perDay ? 'Day' : 'Minute'}PerProjectPerModel-FreeTier`,
              quotaDimensions: { location: 'global', model: 'gemini-2.5-flash' },
              quotaValue: perDay ? '250' : '10',
            },
          ],
        },
        {
          '@type': 'type.googleapis.com/google.rpc.Help',
          links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
        },
        ...(perDay ? [] : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${quota.retryDelaySec}s` }]),
      ],
    },
  };
}

export interface Content {
  role?: string;
  parts?: { text?: string; functionCall?: unknown; functionResponse?: { name?: string; response?: unknown } }[];
}

export type GeminiRequest = ApiRequest<{ contents: Content[]; systemInstruction?: Content; tools?: unknown[]; [key: string]: unknown }> & {
  /** The model named in the path, and the method: streamGenerateContent or generateContent. */
  model: string;
  method: string;
};

export type FakeGemini = ScriptedApi<GeminiReply, GeminiRequest>;

const ROUTE = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

export function startFakeGemini(): Promise<FakeGemini> {
  return startScriptedApi<GeminiReply, GeminiRequest>({
    handle: ({ req, res, route, requests, parsed, nextReply }) => {
      const match = req.method === 'POST' ? ROUTE.exec(route) : null;
      if (!match) return false;
      const [, model, method] = match as unknown as [string, string, string];
      const request = { ...parsed<GeminiRequest['body']>(), model, method };
      requests.push(request);
      answer(res, request, nextReply() ?? { text: 'Nothing more was scripted.' });
      return true;
    },
    notFound: (method, route) => ({ error: { code: 404, message: `the fake Gemini API has no ${method} ${route}`, status: 'NOT_FOUND' } }),
  });
}

function answer(res: ServerResponse, request: GeminiRequest, reply: GeminiReply): void {
  if ('error' in reply) {
    const { status, code, message, details } = reply.error;
    json(res, status, { error: { code: status, message, status: code, ...(details && { details }) } });
    return;
  }
  const usageMetadata = { promptTokenCount: 240, candidatesTokenCount: 12, totalTokenCount: 252 };
  const chunk = (parts: unknown[], finishReason?: string) => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(finishReason && { finishReason }) }],
    ...(finishReason && { usageMetadata }),
    modelVersion: request.model,
  });
  // The parts of each streamed chunk: a text in two halves, or a function call whole.
  const half = 'text' in reply ? Math.ceil(reply.text.length / 2) : 0;
  const streamed =
    'text' in reply
      ? [[{ text: reply.text.slice(0, half) }], [{ text: reply.text.slice(half) }]]
      : [[{ functionCall: reply.functionCall }]];
  if (request.method === 'generateContent') {
    json(res, 200, chunk(streamed.flat(), 'STOP'));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  streamed.forEach((parts, index) => sseData(res, chunk(parts, index === streamed.length - 1 ? 'STOP' : undefined)));
  res.end();
}

/** All the text a request carries in its contents (prompts, earlier answers, function calls and responses), for assertions. */
export function contentsText(request: GeminiRequest): string {
  return JSON.stringify(request.body.contents);
}
