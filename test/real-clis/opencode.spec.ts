import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insufficientQuota, messagesText, rateLimitExceeded, startFakeOpenAiChat } from './fake-openai.js';
import { REAL_CLIS, realCliSuite, stderrLines, stdoutKinds, stdoutObjects, stdoutTypes, usageLimitReset } from './support.js';
import { base64 } from '../support/control-plane.js';

/** OpenCode's session ids: `ses_` and 26 letters or digits. */
const SESSION_ID = /^ses_[0-9a-zA-Z]{26}$/;
const API_KEY = 'sk-offline-test-key-not-a-secret';

/**
 * OpenCode offline: a provider of our own in ~/.config/opencode/opencode.json, through the OpenAI-compatible SDK that
 * OpenCode bundles, pointing at the fake Chat Completions API, and made the default model. The title agent is
 * disabled: it would otherwise spend a model call of its own on naming each new session, concurrently with the turn.
 */
function opencodeConfig(apiUrl: string): unknown {
  return {
    autoupdate: false,
    share: 'disabled',
    model: 'fake/fake-model',
    agent: { title: { disable: true } },
    provider: {
      fake: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Fake Chat Completions API',
        options: { baseURL: `${apiUrl}/v1`, apiKey: API_KEY },
        models: { 'fake-model': { name: 'Fake model', tool_call: true }, 'other-model': { name: 'Another fake model', tool_call: true } },
      },
    },
  };
}

/**
 * What keeps OpenCode from reaching out on its own: no update check, no models.dev catalogue, no default plugins,
 * no LSP downloads, no sharing; and npm's offline mode, since at every start OpenCode runs its bundled npm to install
 * @opencode-ai/plugin into each config folder (it fails quietly: "background dependency install failed").
 */
const OFFLINE_ENV = {
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  OPENCODE_DISABLE_SHARE: '1',
  npm_config_offline: 'true',
};

/**
 * The real OpenCode CLI as the agent of the real runner, against the real control plane, offline: its model API is
 * the Chat Completions half of test/real-clis/fake-openai.ts on loopback. `opencode run` asks for no approval of
 * the tools its default permissions allow (bash, read, …); one that resolves to "ask" is refused.
 */
describe.skipIf(!REAL_CLIS)('the real OpenCode CLI, driven by the runner, against a fake Chat Completions API', () => {
  const opencode = realCliSuite({
    cli: 'opencode',
    sessionId: SESSION_ID,
    agentName: 'OpenCode',
    adapterType: 'opencode_local',
    startApi: startFakeOpenAiChat,
    conversationOf: messagesText,
    setup: (sandbox, api) => {
      const configDir = join(sandbox.home, '.config', 'opencode');
      mkdirSync(configDir, { recursive: true });
      writeFileSync(join(configDir, 'opencode.json'), JSON.stringify(opencodeConfig(api.url)));
      return OFFLINE_ENV;
    },
  });

  it('should complete a plain answer with the session id, version and cost', async () => {
    opencode.api.script([{ text: 'Hello from the fake Chat Completions API.' }]);
    const { job, events } = await opencode.run('Say hello.');
    expect(job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      costMicros: 0,
      resultSessionId: expect.stringMatching(SESSION_ID),
      cliVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      errorMessage: null,
    });
    expect(stdoutTypes(events)).toEqual(['step_start', 'text', 'step_finish']);
    expect(stdoutKinds(events)).toEqual(['model_message', 'model_message', 'run_complete']);
    expect(stdoutObjects(events).every((line) => line.sessionID === job.resultSessionId)).toBe(true);
    expect(stdoutObjects(events)[1]).toMatchObject({ part: { type: 'text', text: 'Hello from the fake Chat Completions API.' } });
    expect(opencode.api.requests).toHaveLength(1);
    expect(opencode.api.requests[0]!.body.model).toBe('fake-model');
    expect(messagesText(opencode.api.requests[0]!)).toContain('Say hello.');
    expect(opencode.api.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    opencode.record('plain', job.jobId);
  });

  // OpenCode prints a tool once, when it has finished: one `tool_use` line with the input and the output, read as
  // `tool_result`. There is no line for the call alone, hence no `tool_call` event.
  it('should run the command the model asked for and send its output back: one tool result event', async () => {
    opencode.api.script([
      { functionCall: { name: 'bash', arguments: { command: 'echo hi-from-opencode', description: 'Print a greeting' } } },
      { text: 'The command printed hi-from-opencode.' },
    ]);
    const { job, events } = await opencode.run('Run echo for me.');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(stdoutKinds(events)).toEqual([
      'model_message',
      'tool_result',
      'model_message',
      'model_message',
      'model_message',
      'run_complete',
    ]);
    const result = events.find((event) => event.kind === 'tool_result');
    expect(result?.payload).toMatchObject({
      type: 'tool_use',
      part: {
        tool: 'bash',
        callID: 'call_fake_1',
        state: { status: 'completed', input: { command: 'echo hi-from-opencode' }, output: 'hi-from-opencode\n' },
      },
    });
    expect(stdoutKinds(events).at(-1)).toBe('run_complete');
    // OpenCode called the model again with the command's real output.
    expect(opencode.api.requests).toHaveLength(2);
    const output = opencode.api.requests[1]!.body.messages.find((message) => message.role === 'tool');
    expect(output).toMatchObject({ tool_call_id: 'call_fake_1' });
    expect(JSON.stringify(output!.content)).toContain('hi-from-opencode');
    opencode.record('tool-use', job.jobId);
  });

  it('should accept the flags the adapter passes (model) and get the instructions ahead of the prompt', async () => {
    opencode.api.script([{ text: 'Done.' }]);
    const { job } = await opencode.run('Say done.', {
      model: 'fake/other-model',
      instructionsFileContent: base64('Answer tersely. Codeword: PAPAYA-7.'),
    });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(opencode.api.requests[0]!.body.model).toBe('other-model');
    expect(messagesText(opencode.api.requests[0]!)).toContain(
      JSON.stringify('Answer tersely. Codeword: PAPAYA-7.\n\nSay done.').slice(1, -1),
    );
  });

  it('should resume the previous session: same session id, and the model sees the earlier conversation', async () => {
    const { first, second } = await opencode.resumeConversation();
    expect(stdoutObjects(second.events).every((line) => line.sessionID === first.job.resultSessionId)).toBe(true);
    opencode.record('resume', second.job.jobId);
  });

  it('should start a fresh session when the session to resume is unknown', async () => {
    const unknown = 'ses_0000000000000000000000000a';
    const { job, events } = await opencode.resumeUnknown(unknown);
    // The failed resume prints no JSON: a coloured line on stderr (even though stderr is no terminal), and exit code 1.
    const failure = stderrLines(events).find((line) => line.includes('Session not found'));
    expect(failure).toBe('\u001b[91m\u001b[1mError: \u001b[0mSession not found');
    expect(opencode.runner.stderr).toContain('the agent does not know the session to resume');
    expect(
      stdoutObjects(
        events.slice(
          0,
          events.findIndex((event) => event.payload === failure),
        ),
      ),
    ).toEqual([]);
    opencode.record('unknown-session', job.jobId, { run: 1, withStderr: true });
  });

  it('should fail on a rejected API key (401) with the CLI’s message', async () => {
    opencode.api.script([{ error: { status: 401, code: 'invalid_api_key', message: 'Incorrect API key provided.' } }]);
    const { job, events } = await opencode.run('Say hello.');
    // Not retried: one call, then an `error` event (the only line printed) and exit code 1.
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 1,
      resultSessionId: expect.stringMatching(SESSION_ID),
      errorMessage: 'APIError: Incorrect API key provided.',
    });
    expect(opencode.api.requests).toHaveLength(1);
    expect(stdoutTypes(events)).toEqual(['error']);
    expect(stdoutKinds(events)).toEqual(['model_message']);
    opencode.record('auth-failure', job.jobId);
  });

  it('should end a job on a rate limit (429) as a usage limit, at the reset its response headers give', async () => {
    // OpenCode retries a 429 five times too, each after the `retry-after-ms` the fake sets to 0 (otherwise after what
    // `retry-after` says, or 2 s, 4 s … without either): the six answers state the same limit, 20 s from each.
    opencode.api.script(Array.from({ length: 6 }, () => rateLimitExceeded(20, 0)));
    const { job, events, exitCode } = await opencode.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(/^usage limit reached \(resets at \S+\): APIError: Rate limit reached for gpt-5\.5 /),
    });
    expect(exitCode).toBe(1);
    expect(opencode.api.requests).toHaveLength(6);
    // The error event carries the last answer's headers: x-ratelimit-remaining-requests 0, its reset 20 s after it.
    const error = stdoutObjects(events).at(-1) as { timestamp: number; error: { data: { statusCode: number; responseHeaders: object } } };
    expect(error.error.data).toMatchObject({ statusCode: 429, responseHeaders: { 'x-ratelimit-reset-requests': '20s' } });
    expect(usageLimitReset(job)).toBe(error.timestamp + 20_000);
    opencode.record('rate-limit', job.jobId);
  });

  it('should end a job on an API key out of quota (429 insufficient_quota) as a usage limit with no reset time', async () => {
    opencode.api.script(Array.from({ length: 6 }, () => insufficientQuota(0)));
    const { job } = await opencode.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(
        /^usage limit reached \(the CLI gave no reset time\): APIError: You exceeded your current quota, /,
      ),
    });
    opencode.record('quota', job.jobId);
  });

  it('should fail on a server error (500) with the CLI’s message, once its retries are spent', async () => {
    // OpenCode retries a 5xx five times, waiting as long as `retry-after-ms` says (without it: 2 s, 4 s, 8 s …).
    const serverError = {
      error: { status: 500, code: 'server_error', message: 'The server had an error while processing your request.', retryAfterMs: 0 },
    };
    opencode.api.script(Array.from({ length: 6 }, () => serverError));
    const { job, events } = await opencode.run('Say hello.');
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 1,
      errorMessage: 'APIError: The server had an error while processing your request.',
    });
    expect(opencode.api.requests).toHaveLength(6);
    expect(stdoutTypes(events)).toEqual(['error']);
    opencode.record('api-error', job.jobId);
  });
});
