import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputText, insufficientQuota, rateLimitExceeded, startFakeOpenAi, usageLimitReached } from './fake-openai.js';
import {
  REAL_CLIS,
  UUID,
  realCliSuite,
  stderrLines,
  stdoutKinds,
  stdoutObjects,
  stdoutTypes,
  usageLimitReset,
  wholeMinuteAfter,
} from './support.js';
import { base64 } from '../support/control-plane.js';

/** Codex's thread ids are UUIDs (v7). */
const THREAD_ID = UUID;

/**
 * Codex offline: a model provider of our own in CODEX_HOME/config.toml pointing at the fake Responses API
 * (OPENAI_BASE_URL alone is not enough: codex then still dials the real service over WebSockets), retries off, and
 * the features that reach out on their own at start-up (plugin and app catalogues, analytics, feedback, the update
 * check) turned off.
 */
function codexConfig(apiUrl: string): string {
  return `model = "gpt-5.5"
model_provider = "fake"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false

[model_providers.fake]
name = "Fake Responses API"
base_url = "${apiUrl}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`;
}

/**
 * The real Codex CLI as the agent of the real runner, against the real control plane, offline: its model API is
 * test/real-clis/fake-openai.ts on loopback. `codex exec` never asks for approval; its default sandbox is
 * read-only, in which `echo` runs.
 */
describe.skipIf(!REAL_CLIS)('the real Codex CLI, driven by the runner, against a fake OpenAI Responses API', () => {
  const codex = realCliSuite({
    cli: 'codex',
    agentName: 'Codex',
    adapterType: 'codex_local',
    startApi: startFakeOpenAi,
    conversationOf: inputText,
    setup: (sandbox, api) => {
      const codexHome = join(sandbox.home, '.codex');
      mkdirSync(codexHome);
      writeFileSync(join(codexHome, 'config.toml'), codexConfig(api.url));
      return { CODEX_HOME: codexHome, OPENAI_API_KEY: 'sk-offline-test-key-not-a-secret' };
    },
  });

  it('should complete a plain answer with the thread id and version, and no cost', async () => {
    codex.api.script([{ text: 'Hello from the fake Responses API.' }]);
    const { job, events } = await codex.run('Say hello.');
    expect(job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      costMicros: null,
      resultSessionId: expect.stringMatching(THREAD_ID),
      cliVersion: expect.stringMatching(/^codex-cli \d+\.\d+\.\d+/),
      errorMessage: null,
    });
    expect(stdoutObjects(events)[0]).toEqual({ type: 'thread.started', thread_id: job.resultSessionId });
    expect(stdoutTypes(events)).toEqual(['thread.started', 'turn.started', 'item.completed', 'turn.completed']);
    expect(stdoutKinds(events)).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
    expect(stdoutObjects(events)[2]).toMatchObject({ item: { type: 'agent_message', text: 'Hello from the fake Responses API.' } });
    expect(codex.api.requests).toHaveLength(1);
    expect(inputText(codex.api.requests[0]!)).toContain('Say hello.');
    expect(codex.api.requests[0]!.headers.authorization).toBe('Bearer sk-offline-test-key-not-a-secret');
    codex.record('plain', job.jobId);
  });

  it('should run the command the model asked for and send its output back: tool call and tool result events', async () => {
    codex.api.script([
      { functionCall: { name: 'exec_command', arguments: { cmd: 'echo hi-from-codex' } } },
      { text: 'The command printed hi-from-codex.' },
    ]);
    const { job, events } = await codex.run('Run echo for me.');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    const call = events.find((event) => event.kind === 'tool_call');
    const result = events.find((event) => event.kind === 'tool_result');
    // What codex printed, in the message: a run that shows no call (once in CI, not reproduced since) can be told apart.
    const printed = JSON.stringify(stdoutObjects(events));
    expect(call?.payload, printed).toMatchObject({
      type: 'item.started',
      item: { type: 'command_execution', command: expect.stringContaining('echo hi-from-codex'), status: 'in_progress' },
    });
    expect(result?.payload).toMatchObject({
      type: 'item.completed',
      item: { type: 'command_execution', aggregated_output: 'hi-from-codex\n', exit_code: 0, status: 'completed' },
    });
    expect(call!.seq!).toBeLessThan(result!.seq!);
    expect(stdoutKinds(events).at(-1)).toBe('run_complete');
    // Codex called the model again with the command's real output.
    expect(codex.api.requests).toHaveLength(2);
    const output = codex.api.requests[1]!.body.input.find((item) => item.type === 'function_call_output');
    expect(output).toMatchObject({ call_id: 'call_fake_1' });
    expect(String(output!.output)).toContain('hi-from-codex');
    codex.record('tool-use', job.jobId);
  });

  it('should accept the flags the adapter passes (model, extra directory) and get the instructions ahead of the prompt', async () => {
    const extra = join(codex.sandbox.root, 'extra-dir');
    mkdirSync(extra, { recursive: true });
    codex.api.script([{ text: 'Done.' }]);
    const { job } = await codex.run('Say done.', {
      model: 'gpt-5.4',
      addDirs: [extra],
      instructionsFileContent: base64('Answer tersely. Codeword: PAPAYA-7.'),
    });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(codex.api.requests[0]!.body.model).toBe('gpt-5.4');
    // No system-prompt flag: the instructions lead the prompt of a new thread.
    expect(inputText(codex.api.requests[0]!)).toContain(JSON.stringify('Answer tersely. Codeword: PAPAYA-7.\n\nSay done.').slice(1, -1));
  });

  it('should resume the previous thread: same thread id, and the model sees the earlier conversation', async () => {
    const { first, second } = await codex.resumeConversation();
    expect(stdoutObjects(second.events)[0]).toEqual({ type: 'thread.started', thread_id: first.job.resultSessionId });
    codex.record('resume', second.job.jobId);
  });

  it('should start a fresh thread when the thread to resume is unknown', async () => {
    const unknown = '01a20000-0000-7000-8000-000000000000';
    const { job, events } = await codex.resumeUnknown(unknown);
    // The failed resume prints no JSON at all: only a line on stderr, and exit code 1.
    const failure = stderrLines(events).find((line) => line.includes('no rollout found'));
    expect(failure).toBe(`Error: thread/resume: thread/resume failed: no rollout found for thread id ${unknown} (code -32600)`);
    expect(codex.runner.stderr).toContain('the agent does not know the session to resume');
    expect(
      stdoutObjects(
        events.slice(
          0,
          events.findIndex((event) => event.payload === failure),
        ),
      ),
    ).toEqual([]);
    codex.record('unknown-session', job.jobId, { run: 1, withStderr: true });
  });

  it('should start a new thread, without a word, when the id to resume is not a UUID', async () => {
    // What codex does (not the runner): `exec resume <not a UUID>` quietly runs in a new thread and exits 0.
    codex.api.script([{ text: 'Fresh start.' }]);
    const { job } = await codex.run('Carry on.', { sessionId: 'expired-session' });
    expect(job).toMatchObject({ status: 'completed', resultSessionId: expect.stringMatching(THREAD_ID) });
    expect(codex.runner.stderr).not.toMatch(/does not know the session to resume[^\n]*expired-session/);
    expect(inputText(codex.api.requests[0]!)).toContain('Carry on.');
  });

  it('should fail on a rejected API key (401) with the CLI’s message', async () => {
    codex.api.script([
      { error: { status: 401, code: 'invalid_api_key', message: 'Incorrect API key provided: sk-offl***************cret.' } },
    ]);
    const { job, events } = await codex.run('Say hello.');
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 1,
      resultSessionId: expect.stringMatching(THREAD_ID),
      errorMessage: expect.stringMatching(
        /^unexpected status 401 Unauthorized: Incorrect API key provided: sk-offl\*+cret\., url: http:\/\/127\.0\.0\.1:\d+\/v1\/responses, request id: req_fake_1$/,
      ),
    });
    expect(stdoutTypes(events)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
    expect(stdoutKinds(events).at(-1)).toBe('run_complete');
    codex.record('api-error', job.jobId);
  });

  it('should end a job on a ChatGPT plan’s spent usage as a usage limit, at the minute codex names (local time)', async () => {
    // Codex says the reset to the minute ("try again at 3:28 PM"): a reset on a whole minute is read back exactly.
    const resetAt = wholeMinuteAfter(10 * 60_000);
    codex.api.script([usageLimitReached(resetAt)]);
    const { job, events, exitCode } = await codex.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(/^usage limit reached \(resets at \S+\): You’ve hit your usage limit\. .* try again at /),
    });
    expect(exitCode).toBe(1);
    expect(usageLimitReset(job)).toBe(resetAt.getTime());
    expect(stdoutTypes(events)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
    codex.record('usage-limit', job.jobId);
  });

  it('should end a job on an API key out of quota (429 insufficient_quota) as a usage limit with no reset time', async () => {
    codex.api.script([insufficientQuota()]);
    const { job } = await codex.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: 'usage limit reached (the CLI gave no reset time): Quota exceeded. Check your plan and billing details.',
    });
    codex.record('quota', job.jobId);
  });

  it('should end a job on a per-minute rate limit (429 rate_limit_exceeded) as a usage limit; codex drops the API’s reset', async () => {
    codex.api.script([rateLimitExceeded(20)]);
    const { job } = await codex.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(
        /^usage limit reached \(the CLI gave no reset time\): exceeded retry limit, last status: 429 Too Many Requests, request id: req_fake_1$/,
      ),
    });
    codex.record('rate-limit', job.jobId);
  });

  it('should fail on a server error (500), reported by codex in its own words', async () => {
    codex.api.script([{ error: { status: 500, code: 'server_error', message: 'The server had an error while processing your request.' } }]);
    const { job, events } = await codex.run('Say hello.');
    // Codex replaces a 5xx's message with a generic one of its own.
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, errorMessage: expect.stringContaining('high demand') });
    expect(stdoutTypes(events)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
    codex.record('server-error', job.jobId);
  });
});
