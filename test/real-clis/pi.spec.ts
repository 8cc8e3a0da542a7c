import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insufficientQuota, messagesText, rateLimitExceeded, startFakeOpenAiChat } from './fake-openai.js';
import { REAL_CLIS, UUID, realCliSuite, stderrLines, stdoutKinds, stdoutObjects, stdoutTypes, usageLimitReset } from './support.js';
import { base64 } from '../support/control-plane.js';

const API_KEY = 'sk-offline-test-key-not-a-secret';

/** A custom provider in ~/.pi/agent/models.json: the fake Chat Completions API, with two models. */
function piModels(apiUrl: string): unknown {
  return {
    providers: {
      fake: { baseUrl: `${apiUrl}/v1`, api: 'openai-completions', apiKey: API_KEY, models: [{ id: 'fake-model' }, { id: 'other-model' }] },
    },
  };
}

/**
 * ~/.pi/agent/settings.json: that provider's model by default; no install ping; one agent-level retry after 10 ms
 * (pi's own default is three, after 2, 4 and 8 s) and none inside the OpenAI SDK (its default is two more per call),
 * so an API error ends a run in seconds and the retry events are still seen.
 */
const PI_SETTINGS = {
  defaultProvider: 'fake',
  defaultModel: 'fake-model',
  enableInstallTelemetry: false,
  retry: { enabled: true, maxRetries: 1, baseDelayMs: 10, provider: { maxRetries: 0 } },
};

/**
 * The real pi coding agent as the agent of the real runner, against the real control plane, offline
 * (`PI_OFFLINE=1`: no update check, no package update check, no install ping): its model API is the Chat
 * Completions half of test/real-clis/fake-openai.ts on loopback. Pi never asks for approval: every tool runs.
 */
describe.skipIf(!REAL_CLIS)('the real pi coding agent, driven by the runner, against a fake Chat Completions API', () => {
  const pi = realCliSuite({
    cli: 'pi',
    agentName: 'Pi',
    adapterType: 'pi_local',
    startApi: startFakeOpenAiChat,
    conversationOf: messagesText,
    setup: (sandbox, api) => {
      const agentDir = join(sandbox.home, '.pi', 'agent');
      mkdirSync(agentDir, { recursive: true });
      writeFileSync(join(agentDir, 'models.json'), JSON.stringify(piModels(api.url)));
      writeFileSync(join(agentDir, 'settings.json'), JSON.stringify(PI_SETTINGS));
      return { PI_OFFLINE: '1' };
    },
  });

  it('should complete a plain answer with the session id, version and cost', async () => {
    pi.api.script([{ text: 'Hello from the fake Chat Completions API.' }]);
    const { job, events } = await pi.run('Say hello.');
    expect(job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      costMicros: 0,
      resultSessionId: expect.stringMatching(UUID),
      cliVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      errorMessage: null,
    });
    expect(stdoutObjects(events)[0]).toMatchObject({ type: 'session', id: job.resultSessionId, cwd: pi.sandbox.workspace });
    expect(stdoutTypes(events).at(-1)).toBe('agent_end');
    expect(stdoutKinds(events).at(-1)).toBe('run_complete');
    expect(
      stdoutKinds(events)
        .slice(0, -1)
        .every((kind) => kind === 'model_message'),
    ).toBe(true);
    const end = stdoutObjects(events).findLast((line) => line.type === 'message_end');
    expect(end).toMatchObject({
      message: { role: 'assistant', stopReason: 'stop', content: [{ type: 'text', text: 'Hello from the fake Chat Completions API.' }] },
    });
    expect(pi.api.requests).toHaveLength(1);
    expect(pi.api.requests[0]!.body.model).toBe('fake-model');
    expect(messagesText(pi.api.requests[0]!)).toContain('Say hello.');
    expect(pi.api.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    pi.record('plain', job.jobId);
  });

  it('should run the command the model asked for and send its output back: tool call and tool result events', async () => {
    pi.api.script([
      { functionCall: { name: 'bash', arguments: { command: 'echo hi-from-pi' } } },
      { text: 'The command printed hi-from-pi.' },
    ]);
    const { job, events } = await pi.run('Run echo for me.');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    const call = events.find((event) => event.kind === 'tool_call');
    const result = events.find((event) => event.kind === 'tool_result');
    expect(call?.payload).toMatchObject({
      type: 'tool_execution_start',
      toolCallId: 'call_fake_1',
      toolName: 'bash',
      args: { command: 'echo hi-from-pi' },
    });
    expect(result?.payload).toMatchObject({ type: 'tool_execution_end', toolCallId: 'call_fake_1', toolName: 'bash', isError: false });
    expect(JSON.stringify(result!.payload)).toContain('hi-from-pi');
    expect(call!.seq!).toBeLessThan(result!.seq!);
    // Pi called the model again with the command's real output.
    expect(pi.api.requests).toHaveLength(2);
    const output = pi.api.requests[1]!.body.messages.find((message) => message.role === 'tool');
    expect(output).toMatchObject({ tool_call_id: 'call_fake_1' });
    expect(JSON.stringify(output!.content)).toContain('hi-from-pi');
    pi.record('tool-use', job.jobId);
  });

  it('should accept the flags the adapter passes (provider, model, instructions file)', async () => {
    pi.api.script([{ text: 'Done.' }]);
    const { job } = await pi.run('Say done.', {
      model: 'other-model',
      runtimeConfig: { provider: 'fake' },
      instructionsFileContent: base64('Answer tersely. Codeword: PAPAYA-7.'),
    });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(pi.api.requests[0]!.body.model).toBe('other-model');
    // --append-system-prompt <file>: the instructions reach the model in the system prompt, not in the user turn.
    const [system, ...rest] = pi.api.requests[0]!.body.messages;
    expect(system).toMatchObject({ role: expect.stringMatching(/^(system|developer)$/) });
    expect(JSON.stringify(system)).toContain('Codeword: PAPAYA-7.');
    expect(JSON.stringify(rest)).not.toContain('PAPAYA-7');
  });

  it('should resume the previous session: same session id, and the model sees the earlier conversation', async () => {
    const { first, second } = await pi.resumeConversation();
    expect(stdoutObjects(second.events)[0]).toMatchObject({ type: 'session', id: first.job.resultSessionId });
    pi.record('resume', second.job.jobId);
  });

  it('should start a fresh session when the session to resume is unknown', async () => {
    const unknown = '01a20000-0000-7000-8000-000000000000';
    const { job, events } = await pi.resumeUnknown(unknown);
    // The failed lookup prints no JSON: one line on stderr, and exit code 1.
    const failure = stderrLines(events).find((line) => line.startsWith('No session found'));
    expect(failure).toBe(`No session found matching '${unknown}'`);
    expect(pi.runner.stderr).toContain('the agent does not know the session to resume');
    expect(
      stdoutObjects(
        events.slice(
          0,
          events.findIndex((event) => event.payload === failure),
        ),
      ),
    ).toEqual([]);
    pi.record('unknown-session', job.jobId, { run: 1, withStderr: true });
  });

  it('should fail on a rejected API key (401) with the CLI’s message, though pi exits 0', async () => {
    pi.api.script([{ error: { status: 401, code: 'invalid_api_key', message: 'Incorrect API key provided.' } }]);
    const { job, events } = await pi.run('Say hello.');
    // Pi exits 0: the verdict is the assistant message's stop reason "error", with the status and the API's message.
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 0,
      resultSessionId: expect.stringMatching(UUID),
      errorMessage: '401 Incorrect API key provided.',
    });
    expect(stdoutObjects(events).findLast((line) => line.type === 'message_end')).toMatchObject({
      message: { role: 'assistant', stopReason: 'error' },
    });
    pi.record('auth-failure', job.jobId);
  });

  it('should end a job on a rate limit (429) as a usage limit, at the reset in the API’s message, though pi exits 0', async () => {
    pi.api.script([rateLimitExceeded(20), rateLimitExceeded(20)]);
    const before = Date.now();
    const { job, events, exitCode } = await pi.runToUsageLimit('Say hello.');
    // Pi shows no headers, only `<status> <message>`; the API's message says "Please try again in 20s.".
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(
        /^usage limit reached \(resets at \S+\): 429 Rate limit reached for gpt-5\.5 .* Please try again in 20s\./,
      ),
    });
    expect(exitCode).toBe(0);
    expect(usageLimitReset(job)).toBeGreaterThanOrEqual(before + 20_000);
    expect(usageLimitReset(job)).toBeLessThanOrEqual(Date.parse(job.usageLimitedAt!) + 20_000);
    expect(stdoutObjects(events).at(-1)).toMatchObject({ type: 'auto_retry_end', success: false });
    pi.record('rate-limit', job.jobId);
  });

  it('should end a job on an API key out of quota (429 insufficient_quota) as a usage limit with no reset time', async () => {
    pi.api.script([insufficientQuota(), insufficientQuota()]);
    const { job, exitCode } = await pi.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(/^usage limit reached \(the CLI gave no reset time\): 429 You exceeded your current quota, /),
    });
    expect(exitCode).toBe(0);
    pi.record('quota', job.jobId);
  });

  it('should fail on a server error (500) with the CLI’s message, after its one retry', async () => {
    const serverError = { error: { status: 500, code: 'server_error', message: 'The server had an error while processing your request.' } };
    pi.api.script([serverError, serverError]);
    const { job, events } = await pi.run('Say hello.');
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 0,
      errorMessage: '500 The server had an error while processing your request.',
    });
    expect(pi.api.requests).toHaveLength(2);
    // The first attempt ends in an agent_end (hence a run_complete that is not the last), then the retry, which gives up.
    expect(stdoutTypes(events).slice(-3)).toEqual(['turn_end', 'agent_end', 'auto_retry_end']);
    expect(stdoutObjects(events).at(-1)).toMatchObject({
      success: false,
      attempt: 1,
      finalError: '500 The server had an error while processing your request.',
    });
    expect(stdoutKinds(events).filter((kind) => kind === 'run_complete')).toHaveLength(2);
    pi.record('api-error', job.jobId);
  });
});
