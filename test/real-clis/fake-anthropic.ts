import type { ServerResponse } from 'node:http';
import { json, sseEvent, startScriptedApi, type ApiRequest, type ScriptedApi } from './fake-api.js';

/**
 * A local stand-in for the Anthropic Messages API, enough for the real Claude Code CLI to run offline
 * (`ANTHROPIC_BASE_URL=<url>`): `POST /v1/messages` streamed (SSE) or not, `POST /v1/messages/count_tokens`, and a
 * logged 404 for anything else. Each test scripts the conversation: the replies to the CLI's next model calls, in
 * order. A call that offers no tools (a side request: a title, a quota probe) gets a short text and leaves the
 * script alone, so the script only ever answers the agent's own turns.
 */
export type AnthropicReply =
  /** A plain answer. */
  | { text: string }
  /** A tool call (optionally after some text); the CLI runs the tool and calls again with its result. */
  | { toolUse: { name: string; input: Record<string, unknown> }; text?: string }
  /**
   * An HTTP error with the API's error body, e.g. 529 overloaded_error or 401 authentication_error, and the headers
   * that go with it (by default only `x-should-retry: false`); `rateLimit` and `subscriptionLimit` build the 429s.
   */
  | { error: { status: number; type: string; message: string; headers?: Record<string, string> } };

export type MessagesRequest = ApiRequest<{
  model?: string;
  stream?: boolean;
  tools?: { name: string }[];
  messages: { role: string; content: string | { type: string; text?: string; content?: unknown; tool_use_id?: string }[] }[];
  [key: string]: unknown;
}>;

export interface FakeAnthropic extends ScriptedApi<AnthropicReply, MessagesRequest> {
  /** Every `POST /v1/messages` the agent's turns made (side requests are in `sideRequests`). */
  readonly requests: MessagesRequest[];
  readonly sideRequests: MessagesRequest[];
}

const USAGE = { input_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
const OUTPUT_TOKENS = 12;

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const sideRequests: MessagesRequest[] = [];
  const api = await startScriptedApi<AnthropicReply, MessagesRequest>({
    handle: ({ req, res, raw, route, requests, parsed, nextReply, nextNumber }) => {
      if (req.method === 'POST' && route === '/v1/messages') {
        const request = parsed<MessagesRequest['body']>();
        const agentTurn = (request.body.tools?.length ?? 0) > 0;
        (agentTurn ? requests : sideRequests).push(request);
        const reply = agentTurn ? (nextReply() ?? { text: 'Nothing more was scripted.' }) : { text: 'ok' };
        answer(res, request, reply, nextNumber());
        return true;
      }
      if (req.method === 'POST' && route === '/v1/messages/count_tokens') {
        json(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
        return true;
      }
      return false;
    },
    notFound: (method, route) => ({
      type: 'error',
      error: { type: 'not_found_error', message: `the fake Anthropic API has no ${method} ${route}` },
    }),
    onReset: () => {
      sideRequests.length = 0;
    },
  });
  return { ...api, sideRequests };
}

/** Whole seconds from now until `at`, as `retry-after` gives them. */
const secondsUntil = (at: Date) => String(Math.max(0, Math.ceil((at.getTime() - Date.now()) / 1000)));

/**
 * A 429 as the Anthropic API answers an API key over its rate limit (its rate-limits page): `rate_limit_error`,
 * `retry-after` in seconds, and the `anthropic-ratelimit-*` headers, the spent one with 0 remaining and its reset (RFC 3339).
 */
export function rateLimit(resetAt: Date): AnthropicReply {
  const reset = resetAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    error: {
      status: 429,
      type: 'rate_limit_error',
      message:
        'Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); see the ' +
        'response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.',
      headers: {
        'retry-after': secondsUntil(resetAt),
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-requests-reset': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'anthropic-ratelimit-input-tokens-limit': '30000',
        'anthropic-ratelimit-input-tokens-remaining': '0',
        'anthropic-ratelimit-input-tokens-reset': reset,
        'anthropic-ratelimit-output-tokens-limit': '8000',
        'anthropic-ratelimit-output-tokens-remaining': '8000',
        'anthropic-ratelimit-output-tokens-reset': reset,
      },
    },
  };
}

/**
 * A 429 as a Claude subscription (Pro, Max) refuses a request once its 5-hour window is spent: the
 * `anthropic-ratelimit-unified-*` headers Claude Code reads when logged in to claude.ai, status "rejected", the
 * window's reset in epoch seconds, no extra usage to fall back on.
 */
export function subscriptionLimit(resetAt: Date): AnthropicReply {
  const reset = String(Math.floor(resetAt.getTime() / 1000));
  return {
    error: {
      status: 429,
      type: 'rate_limit_error',
      message: "This request would exceed your account's rate limit. Please try again later.",
      headers: {
        'retry-after': secondsUntil(resetAt),
        'anthropic-ratelimit-unified-status': 'rejected',
        'anthropic-ratelimit-unified-reset': reset,
        'anthropic-ratelimit-unified-representative-claim': 'five_hour',
        'anthropic-ratelimit-unified-5h-status': 'rejected',
        'anthropic-ratelimit-unified-5h-reset': reset,
        'anthropic-ratelimit-unified-5h-utilization': '1.0',
        'anthropic-ratelimit-unified-7d-status': 'allowed',
        'anthropic-ratelimit-unified-7d-utilization': '0.42',
        'anthropic-ratelimit-unified-overage-status': 'rejected',
        'anthropic-ratelimit-unified-overage-disabled-reason': 'org_level_disabled',
      },
    },
  };
}

function answer(res: ServerResponse, request: MessagesRequest, reply: AnthropicReply, n: number): void {
  if ('error' in reply) {
    const { status, type, message, headers = { 'x-should-retry': 'false' } } = reply.error;
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${n}`, ...headers });
    res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: `req_fake_${n}` }));
    return;
  }
  const model = request.body.model ?? 'claude-fake';
  const id = `msg_fake_${String(n).padStart(4, '0')}`;
  const blocks: Record<string, unknown>[] = [];
  if (reply.text) blocks.push({ type: 'text', text: reply.text });
  if ('toolUse' in reply)
    blocks.push({ type: 'tool_use', id: `toolu_fake_${String(n).padStart(4, '0')}`, name: reply.toolUse.name, input: reply.toolUse.input });
  const stopReason = 'toolUse' in reply ? 'tool_use' : 'end_turn';

  if (!request.body.stream) {
    json(res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { ...USAGE, output_tokens: OUTPUT_TOKENS },
    });
    return;
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_fake_${n}` });
  const event = (type: string, data: Record<string, unknown>) => sseEvent(res, type, data);
  event('message_start', {
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: USAGE },
  });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      const text = block.text as string;
      const half = Math.ceil(text.length / 2);
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      // Two deltas, so the CLI really assembles the text.
      event('content_block_delta', { index, delta: { type: 'text_delta', text: text.slice(0, half) } });
      event('content_block_delta', { index, delta: { type: 'text_delta', text: text.slice(half) } });
    } else {
      const input = JSON.stringify(block.input);
      const half = Math.ceil(input.length / 2);
      event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      // The input arrives as partial JSON in pieces, as the real API sends it.
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: input.slice(0, half) } });
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: input.slice(half) } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: OUTPUT_TOKENS } });
  event('message_stop', {});
  res.end();
}

/** All the text a request carries in its messages (user prompts, earlier answers, tool results), for assertions. */
export function conversationText(request: MessagesRequest): string {
  return JSON.stringify(request.body.messages);
}
