import type { ServerResponse } from 'node:http';
import { json, sseEvent, startScriptedApi, type ApiRequest, type ScriptedApi } from './fake-api.js';

/**
 * A local stand-in for the OpenAI Responses API, enough for the real Codex CLI to run offline through a
 * `model_providers` entry of its config.toml (`base_url = "<url>/v1"`, `wire_api = "responses"`):
 * `POST /v1/responses` streamed as SSE, `GET /v1/models` (an empty list), and a logged 404 for anything else.
 * Each test scripts the conversation: the replies to the CLI's next model calls, in order.
 */
export type OpenAiReply =
  /** A plain answer (an assistant `message` item). */
  | { text: string }
  /** A function call, e.g. codex's `exec_command` with `{"cmd": "echo hi"}`; the CLI runs it and calls again with its output. */
  | { functionCall: { name: string; arguments: Record<string, unknown> } }
  /** An HTTP error with the API's error body, e.g. 401 invalid_api_key. */
  | { error: { status: number; code: string; message: string } };

export interface InputItem {
  type?: string;
  role?: string;
  content?: unknown;
  call_id?: string;
  output?: unknown;
  name?: string;
  arguments?: string;
}

export type ResponsesRequest = ApiRequest<{ model?: string; stream?: boolean; input: InputItem[]; tools?: { name?: string; type: string }[]; [key: string]: unknown }>;

export type FakeOpenAi = ScriptedApi<OpenAiReply, ResponsesRequest>;

export function startFakeOpenAi(): Promise<FakeOpenAi> {
  return startScriptedApi<OpenAiReply, ResponsesRequest>({
    handle: ({ req, res, path, route, requests, unknownRoutes, parsed, nextReply, nextNumber }) => {
      if (req.method === 'POST' && route === '/v1/responses') {
        if (req.headers['content-encoding']) {
          unknownRoutes.push(`POST ${path} with content-encoding ${req.headers['content-encoding']}`);
          json(res, 415, { error: { message: 'the fake OpenAI API reads uncompressed bodies only', type: 'invalid_request_error', code: 'unsupported_encoding', param: null } });
          return true;
        }
        const request = parsed<ResponsesRequest['body']>();
        requests.push(request);
        answer(res, request, nextReply() ?? { text: 'Nothing more was scripted.' }, nextNumber());
        return true;
      }
      if (req.method === 'GET' && route === '/v1/models') {
        json(res, 200, { object: 'list', data: [] });
        return true;
      }
      return false;
    },
    notFound: (method, route) => ({ error: { message: `the fake OpenAI API has no ${method} ${route}`, type: 'invalid_request_error', code: 'not_found', param: null } }),
  });
}

function answer(res: ServerResponse, request: ResponsesRequest, reply: OpenAiReply, n: number): void {
  if ('error' in reply) {
    const { status, code, message } = reply.error;
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fake_${n}` });
    res.end(JSON.stringify({ error: { message, type: code, code, param: null } }));
    return;
  }
  const id = `resp_fake_${String(n).padStart(4, '0')}`;
  const model = request.body.model ?? 'gpt-fake';
  const usage = { input_tokens: 240, input_tokens_details: { cached_tokens: 0 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 252 };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_fake_${n}` });
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) => sseEvent(res, type, { sequence_number: sequence++, ...data });
  const response = (status: string, output: unknown[]) => ({ id, object: 'response', created_at: 1_767_000_000, status, model, output, ...(status === 'completed' && { usage }) });

  event('response.created', { response: response('in_progress', []) });
  event('response.in_progress', { response: response('in_progress', []) });
  let item: Record<string, unknown>;
  if ('functionCall' in reply) {
    const args = JSON.stringify(reply.functionCall.arguments);
    item = { type: 'function_call', id: `fc_fake_${n}`, call_id: `call_fake_${n}`, name: reply.functionCall.name, arguments: args, status: 'completed' };
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
