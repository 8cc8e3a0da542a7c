import type { ServerResponse } from 'node:http';
import { json, sseData, sseEvent, startScriptedApi, type ApiRequest, type ScriptedApi } from './fake-api.js';

/**
 * Local stand-ins for the OpenAI APIs. The Responses API, enough for the real Codex CLI to run offline through a
 * `model_providers` entry of its config.toml (`base_url = "<url>/v1"`, `wire_api = "responses"`):
 * `POST /v1/responses` streamed as SSE, `GET /v1/models` (an empty list), and a logged 404 for anything else.
 * Each test scripts the conversation: the replies to the CLI's next model calls, in order.
 */
export type OpenAiReply =
  /** A plain answer (an assistant `message` item). */
  | { text: string }
  /** A function call, e.g. codex's `exec_command` with `{"cmd": "echo hi"}`; the CLI runs it and calls again with its output. */
  | { functionCall: { name: string; arguments: Record<string, unknown> } }
  /**
   * An HTTP error with the API's error body, e.g. 401 invalid_api_key; `retryAfterMs` sends the `retry-after-ms`
   * header, which the OpenAI SDKs read as how long to wait before retrying.
   */
  | { error: ApiError };

export interface ApiError {
  status: number;
  code: string;
  message: string;
  retryAfterMs?: number;
  /** The body's `type`, when it is not the code (a rate limit's is "requests" or "tokens"). */
  type?: string;
  /** More response headers (the `x-ratelimit-*` of a rate limit). */
  headers?: Record<string, string>;
  /** More fields of the body's `error` (a ChatGPT plan's limit names the plan and the reset). */
  fields?: Record<string, unknown>;
}

/**
 * A 429 as the OpenAI API answers a key over its per-minute requests (its rate-limit guide): `rate_limit_exceeded`,
 * "Please try again in 20s." in the message, and the `x-ratelimit-*` headers, the spent requests at 0 with their
 * reset as a duration. `retryAfterMs` as for any error (OpenCode waits that long before each of its retries).
 */
export function rateLimitExceeded(resetInSec: number, retryAfterMs?: number): { error: ApiError } {
  return {
    error: {
      status: 429,
      code: 'rate_limit_exceeded',
      type: 'requests',
      message:
        `Rate limit reached for gpt-5.5 in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. ` +
        `Please try again in ${resetInSec}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      retryAfterMs,
      headers: {
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': `${resetInSec}s`,
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '29760',
        'x-ratelimit-reset-tokens': '480ms',
      },
    },
  };
}

/** A 429 as the OpenAI API answers a key whose credit or spend limit is used up: `insufficient_quota`, no reset. */
export function insufficientQuota(retryAfterMs?: number): { error: ApiError } {
  return {
    error: {
      status: 429,
      code: 'insufficient_quota',
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      retryAfterMs,
    },
  };
}

/**
 * A 429 as the Responses API answers a ChatGPT plan (Plus, Pro) whose Codex usage is spent: `usage_limit_reached`
 * with the plan and the reset in epoch seconds, which Codex turns into "You've hit your usage limit … try again at …".
 */
export function usageLimitReached(resetAt: Date): { error: ApiError } {
  const resetsInSeconds = Math.max(0, Math.ceil((resetAt.getTime() - Date.now()) / 1000));
  return {
    error: {
      status: 429,
      code: 'usage_limit_reached',
      message: 'The usage limit has been reached',
      fields: { plan_type: 'plus', resets_at: Math.floor(resetAt.getTime() / 1000), resets_in_seconds: resetsInSeconds },
    },
  };
}

export interface InputItem {
  type?: string;
  role?: string;
  content?: unknown;
  call_id?: string;
  output?: unknown;
  name?: string;
  arguments?: string;
}

export type ResponsesRequest = ApiRequest<{
  model?: string;
  stream?: boolean;
  input: InputItem[];
  tools?: { name?: string; type: string }[];
  [key: string]: unknown;
}>;

export type FakeOpenAi = ScriptedApi<OpenAiReply, ResponsesRequest>;

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

export type ChatRequest = ApiRequest<{
  model?: string;
  stream?: boolean;
  messages: ChatMessage[];
  tools?: unknown[];
  [key: string]: unknown;
}>;

export type FakeOpenAiChat = ScriptedApi<OpenAiReply, ChatRequest>;

export function startFakeOpenAi(): Promise<FakeOpenAi> {
  return startOpenAiApi<ResponsesRequest>('/v1/responses', answerResponses);
}

/**
 * The same for the Chat Completions API (`POST /v1/chat/completions`, streamed as SSE), which OpenCode's and pi's
 * custom OpenAI-compatible providers call.
 */
export function startFakeOpenAiChat(): Promise<FakeOpenAiChat> {
  return startOpenAiApi<ChatRequest>('/v1/chat/completions', answerChat);
}

/** The routes both APIs share: the model call at `modelRoute`, `GET /v1/models` (an empty list), a logged 404 for anything else. */
function startOpenAiApi<Request extends ApiRequest<unknown>>(
  modelRoute: string,
  answer: (res: ServerResponse, request: Request, reply: Exclude<OpenAiReply, { error: unknown }>, n: number) => void,
): Promise<ScriptedApi<OpenAiReply, Request>> {
  return startScriptedApi<OpenAiReply, Request>({
    handle: ({ req, res, path, route, requests, unknownRoutes, parsed, nextReply, nextNumber }) => {
      if (req.method === 'POST' && route === modelRoute) {
        if (req.headers['content-encoding']) {
          unknownRoutes.push(`POST ${path} with content-encoding ${req.headers['content-encoding']}`);
          json(res, 415, {
            error: {
              message: 'the fake OpenAI API reads uncompressed bodies only',
              type: 'invalid_request_error',
              code: 'unsupported_encoding',
              param: null,
            },
          });
          return true;
        }
        const request = parsed() as Request;
        requests.push(request);
        const reply = nextReply() ?? { text: 'Nothing more was scripted.' };
        const n = nextNumber();
        if ('error' in reply) answerError(res, reply.error, n);
        else answer(res, request, reply, n);
        return true;
      }
      if (req.method === 'GET' && route === '/v1/models') {
        json(res, 200, { object: 'list', data: [] });
        return true;
      }
      return false;
    },
    notFound: (method, route) => ({
      error: { message: `the fake OpenAI API has no ${method} ${route}`, type: 'invalid_request_error', code: 'not_found', param: null },
    }),
  });
}

function answerError(
  res: ServerResponse,
  { status, code, message, retryAfterMs, type = code, headers, fields }: ApiError,
  n: number,
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-request-id': `req_fake_${n}`,
    ...headers,
    ...(retryAfterMs !== undefined && { 'retry-after-ms': String(retryAfterMs) }),
  });
  res.end(JSON.stringify({ error: { message, type, code, param: null, ...fields } }));
}

function answerResponses(res: ServerResponse, request: ResponsesRequest, reply: Exclude<OpenAiReply, { error: unknown }>, n: number): void {
  const id = `resp_fake_${String(n).padStart(4, '0')}`;
  const model = request.body.model ?? 'gpt-fake';
  const usage = {
    input_tokens: 240,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 12,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 252,
  };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_fake_${n}` });
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) => sseEvent(res, type, { sequence_number: sequence++, ...data });
  const response = (status: string, output: unknown[]) => ({
    id,
    object: 'response',
    created_at: 1_767_000_000,
    status,
    model,
    output,
    ...(status === 'completed' && { usage }),
  });

  event('response.created', { response: response('in_progress', []) });
  event('response.in_progress', { response: response('in_progress', []) });
  let item: Record<string, unknown>;
  if ('functionCall' in reply) {
    const args = JSON.stringify(reply.functionCall.arguments);
    item = {
      type: 'function_call',
      id: `fc_fake_${n}`,
      call_id: `call_fake_${n}`,
      name: reply.functionCall.name,
      arguments: args,
      status: 'completed',
    };
    event('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } });
    const half = Math.ceil(args.length / 2);
    event('response.function_call_arguments.delta', { output_index: 0, item_id: item.id, delta: args.slice(0, half) });
    event('response.function_call_arguments.delta', { output_index: 0, item_id: item.id, delta: args.slice(half) });
    event('response.function_call_arguments.done', { output_index: 0, item_id: item.id, arguments: args });
  } else {
    const text = reply.text;
    const part = { type: 'output_text', text, annotations: [] };
    item = { type: 'message', id: `msg_fake_${n}`, role: 'assistant', status: 'completed', content: [part] };
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    event('response.content_part.added', { output_index: 0, item_id: item.id, content_index: 0, part: { ...part, text: '' } });
    const half = Math.ceil(text.length / 2);
    event('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: text.slice(0, half) });
    event('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: text.slice(half) });
    event('response.output_text.done', { output_index: 0, item_id: item.id, content_index: 0, text });
    event('response.content_part.done', { output_index: 0, item_id: item.id, content_index: 0, part });
  }
  event('response.output_item.done', { output_index: 0, item });
  event('response.completed', { response: response('completed', [item]) });
  res.end();
}

/** All the text a request carries in its input items (prompts, earlier answers, tool calls and outputs), for assertions. */
export function inputText(request: ResponsesRequest): string {
  return JSON.stringify(request.body.input);
}

/** A Chat Completions stream: the role, the text or the tool call in two deltas, the finish reason, the usage, [DONE]. */
function answerChat(res: ServerResponse, request: ChatRequest, reply: Exclude<OpenAiReply, { error: unknown }>, n: number): void {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: `chatcmpl-fake-${n}`,
    object: 'chat.completion.chunk',
    created: 1_767_000_000,
    model: request.body.model ?? 'gpt-fake',
    choices,
    ...extra,
  });
  const delta = (fields: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: fields, finish_reason: finishReason }]);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_fake_${n}` });
  let finishReason: string;
  if ('functionCall' in reply) {
    const args = JSON.stringify(reply.functionCall.arguments);
    const half = Math.ceil(args.length / 2);
    const call = (fields: Record<string, unknown>) => ({ tool_calls: [{ index: 0, ...fields }] });
    sseData(
      res,
      delta({
        role: 'assistant',
        content: null,
        ...call({ id: `call_fake_${n}`, type: 'function', function: { name: reply.functionCall.name, arguments: '' } }),
      }),
    );
    sseData(res, delta(call({ function: { arguments: args.slice(0, half) } })));
    sseData(res, delta(call({ function: { arguments: args.slice(half) } })));
    finishReason = 'tool_calls';
  } else {
    const half = Math.ceil(reply.text.length / 2);
    sseData(res, delta({ role: 'assistant', content: reply.text.slice(0, half) }));
    sseData(res, delta({ content: reply.text.slice(half) }));
    finishReason = 'stop';
  }
  sseData(res, delta({}, finishReason));
  sseData(res, chunk([], { usage: { prompt_tokens: 240, completion_tokens: 12, total_tokens: 252 } }));
  res.write('data: [DONE]\n\n');
  res.end();
}

/** All the text a Chat Completions request carries in its messages (prompts, earlier answers, tool calls and results), for assertions. */
export function messagesText(request: ChatRequest): string {
  return JSON.stringify(request.body.messages);
}
