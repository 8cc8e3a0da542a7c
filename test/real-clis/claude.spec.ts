import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/control-plane/index.js';
import { conversationText, rateLimit, startFakeAnthropic, subscriptionLimit } from './fake-anthropic.js';
import { REAL_CLIS, UUID, realCliSuite, stderrLines, stdoutObjects, stdoutTypes, usageLimitReset, type Sandbox } from './support.js';
import { base64 } from '../support/control-plane.js';

/** The jobs' agent and adapter type, the fake API, and how to read the conversation a request carried. */
const CLAUDE_SUITE = {
  cli: 'claude',
  agentName: 'Claude',
  adapterType: 'claude_local',
  startApi: startFakeAnthropic,
  conversationOf: conversationText,
} as const;

/**
 * Claude Code's environment: the fake API, the credential (`ANTHROPIC_API_KEY`, or a subscription's
 * `CLAUDE_CODE_OAUTH_TOKEN`), its config folder in the sandbox; offline and non-interactive: no update check, no
 * telemetry or error reports, no retries of a failed call.
 */
function claudeEnv(sandbox: Sandbox, apiUrl: string, credential: Record<string, string>): Record<string, string> {
  const configDir = join(sandbox.home, '.claude');
  mkdirSync(configDir, { recursive: true });
  return {
    ANTHROPIC_BASE_URL: apiUrl,
    ...credential,
    CLAUDE_CONFIG_DIR: configDir,
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
  };
}

/**
 * The real Claude Code CLI as the agent of the real runner, against the real control plane, offline: its model API
 * is test/real-clis/fake-anthropic.ts on loopback. What runs headless without a permission prompt, as root too
 * (where --dangerously-skip-permissions is refused): read-only tools (Read, Glob, Grep, and Bash commands Claude
 * Code classes as read-only, such as `echo`, `ls`, `cat`); a command that writes is refused and reported back to
 * the model as a tool error unless an allow rule in settings.json (here in CLAUDE_CONFIG_DIR) permits it.
 */
describe.skipIf(!REAL_CLIS)('the real Claude Code CLI, driven by the runner, against a fake Anthropic API', () => {
  let configDir = '';
  const claude = realCliSuite({
    ...CLAUDE_SUITE,
    setup: (sandbox, api) => {
      const env = claudeEnv(sandbox, api.url, { ANTHROPIC_API_KEY: 'sk-ant-api03-offline-test-key-not-a-secret' });
      configDir = env.CLAUDE_CONFIG_DIR!;
      return env;
    },
  });
  const kinds = (events: StoredEvent[]) => events.map((event) => event.kind);
  const resultOf = (events: StoredEvent[]) =>
    events.findLast((event) => event.kind === 'claude_result')!.payload as Record<string, unknown>;

  it('should complete a plain answer with its cost, session id and version', async () => {
    claude.api.script([{ text: 'Hello from the fake Anthropic API.' }]);
    const { job, events } = await claude.run('Say hello.');
    const result = resultOf(events);
    expect(result).toMatchObject({ type: 'result', subtype: 'success', is_error: false, result: 'Hello from the fake Anthropic API.' });
    expect(result.total_cost_usd).toBeGreaterThan(0);
    expect(job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      costMicros: Math.round((result.total_cost_usd as number) * 1_000_000),
      resultSessionId: expect.stringMatching(UUID),
      cliVersion: expect.stringMatching(/^\d+\.\d+\.\d+ \(Claude Code\)$/),
      errorMessage: null,
    });
    expect(events[0]!.payload).toMatchObject({
      type: 'system',
      subtype: 'init',
      session_id: job.resultSessionId,
      cwd: claude.sandbox.workspace,
    });
    expect(kinds(events).at(-1)).toBe('claude_result');
    expect(kinds(events)).not.toContain('claude_tool_use');
    // The prompt reached the model (through stdin).
    expect(claude.api.requests).toHaveLength(1);
    expect(conversationText(claude.api.requests[0]!)).toContain('Say hello.');
    expect(claude.api.requests[0]!.headers['x-api-key']).toBe('sk-ant-api03-offline-test-key-not-a-secret');
    claude.record('plain', job.jobId);
  });

  it('should run a Bash tool the model asked for and send its output back: tool use and tool result events', async () => {
    claude.api.script([
      { text: 'I will run it.', toolUse: { name: 'Bash', input: { command: 'echo hi-from-bash', description: 'Print a greeting' } } },
      { text: 'The command printed hi-from-bash.' },
    ]);
    const { job, events } = await claude.run('Run echo for me.');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    const toolUse = events.find((event) => event.kind === 'claude_tool_use');
    const toolResult = events.find((event) => event.kind === 'claude_tool_result');
    expect(toolUse?.payload).toMatchObject({
      message: { content: expect.arrayContaining([expect.objectContaining({ type: 'tool_use', name: 'Bash' })]) },
    });
    expect(toolResult?.payload).toMatchObject({
      message: { content: [expect.objectContaining({ type: 'tool_result', content: 'hi-from-bash', is_error: false })] },
    });
    expect(toolUse!.seq!).toBeLessThan(toolResult!.seq!);
    // The CLI called the model again with the command's real output.
    expect(claude.api.requests).toHaveLength(2);
    expect(conversationText(claude.api.requests[1]!)).toMatch(/"type":"tool_result".*hi-from-bash|hi-from-bash.*"type":"tool_result"/);
    expect(resultOf(events)).toMatchObject({ is_error: false, result: 'The command printed hi-from-bash.', num_turns: 2 });
    claude.record('tool-use', job.jobId);
  });

  it('should read a workspace file with the Read tool', async () => {
    writeFileSync(join(claude.sandbox.workspace, 'notes.txt'), 'the answer is 42\n');
    claude.api.script([
      { toolUse: { name: 'Read', input: { file_path: join(claude.sandbox.workspace, 'notes.txt') } } },
      { text: 'It says 42.' },
    ]);
    const { job, events } = await claude.run('What is in notes.txt?');
    expect(job.status).toBe('completed');
    expect(JSON.stringify(events.find((event) => event.kind === 'claude_tool_result')?.payload)).toContain('the answer is 42');
    expect(conversationText(claude.api.requests[1]!)).toContain('the answer is 42');
  });

  it('should refuse a writing command headless, report it to the model, and still complete; a settings allow rule lets it run', async () => {
    const touch = { toolUse: { name: 'Bash', input: { command: 'touch made-by-claude.txt', description: 'Create a file' } } };
    claude.api.script([touch, { text: 'I could not create it.' }]);
    const refused = await claude.run('Create made-by-claude.txt.');
    // The CLI's verdict is success: a refused tool is the model's problem, not the run's. The runner says completed.
    expect(refused.job.status).toBe('completed');
    const refusal = refused.events.find((event) => event.kind === 'claude_tool_result')?.payload;
    expect(refusal).toMatchObject({
      message: { content: [expect.objectContaining({ is_error: true, content: expect.stringContaining('needs approval') })] },
    });
    expect(resultOf(refused.events).permission_denials).toEqual([expect.objectContaining({ tool_name: 'Bash' })]);
    expect(existsSync(join(claude.sandbox.workspace, 'made-by-claude.txt'))).toBe(false);
    claude.record('permission-denied', refused.job.jobId);

    const settings = join(configDir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ permissions: { allow: ['Bash(touch:*)'] } }));
    try {
      claude.api.reset();
      claude.api.script([touch, { text: 'Created.' }]);
      const allowed = await claude.run('Create made-by-claude.txt.');
      expect(allowed.job.status).toBe('completed');
      expect(existsSync(join(claude.sandbox.workspace, 'made-by-claude.txt'))).toBe(true);
      expect(resultOf(allowed.events).permission_denials).toEqual([]);
    } finally {
      rmSync(settings, { force: true });
      rmSync(join(claude.sandbox.workspace, 'made-by-claude.txt'), { force: true });
    }
  });

  it('should accept every flag the adapter passes: model, max turns, instructions file, extra directories', async () => {
    const extra = join(claude.sandbox.root, 'extra-dir');
    mkdirSync(extra, { recursive: true });
    claude.api.script([{ text: 'Done.' }]);
    const { job, events } = await claude.run('Say done.', {
      model: 'sonnet',
      maxTurns: 3,
      instructionsFileContent: base64('Answer tersely. Codeword: PAPAYA-7.'),
      addDirs: [extra],
    });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(events[0]!.payload).toMatchObject({ subtype: 'init', model: expect.stringMatching(/sonnet/), additional_directories: [extra] });
    expect(claude.api.requests[0]!.body.model).toMatch(/sonnet/);
    // --append-system-prompt-file: the instructions reach the model, in the system prompt and not in the user turn.
    expect(JSON.stringify(claude.api.requests[0]!.body)).toContain('Codeword: PAPAYA-7.');
    expect(JSON.stringify(claude.api.requests[0]!.body.messages.filter((message) => message.role === 'user'))).not.toContain('PAPAYA-7');
  });

  it('should fail a run that reaches its max turns, with the CLI’s reason', async () => {
    claude.api.script([
      { toolUse: { name: 'Bash', input: { command: 'echo one', description: 'Print one' } } },
      { toolUse: { name: 'Bash', input: { command: 'echo two', description: 'Print two' } } },
    ]);
    const { job, events } = await claude.run('Keep going.', { maxTurns: 1 });
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, errorMessage: 'Reached maximum number of turns (1)' });
    expect(resultOf(events)).toMatchObject({ subtype: 'error_max_turns', is_error: true });
    claude.record('max-turns', job.jobId);
  });

  it('should resume the previous session: same session id, and the model sees the earlier conversation', async () => {
    const { first, second } = await claude.resumeConversation();
    expect(stdoutObjects(second.events).map((line) => line.session_id)).toEqual(
      stdoutObjects(second.events).map(() => first.job.resultSessionId),
    );
    claude.record('resume', second.job.jobId);
  });

  it('should start a fresh session when the session to resume is unknown, keeping both runs’ events in order', async () => {
    const unknown = randomUUID();
    const { job, events } = await claude.resumeUnknown(unknown);
    // The failed resume, as the real CLI reports it: no `result` text, the reason in `errors`, and on stderr.
    const failedAt = events.findIndex((event) => event.kind === 'claude_result');
    expect(events[failedAt]!.payload).toMatchObject({
      subtype: 'error_during_execution',
      is_error: true,
      session_id: unknown,
      errors: [`No conversation found with session ID: ${unknown}`],
    });
    expect(stderrLines(events)).toContain(`No conversation found with session ID: ${unknown}`);
    expect(claude.runner.stderr).toContain('the agent does not know the session to resume');
    claude.record('unknown-session', job.jobId, { run: 1, withStderr: true });
  });

  it('should start a fresh session when the session id to resume is not a UUID the CLI knows', async () => {
    // claude -p --resume refuses it with 'is not a UUID and does not match any session title': the runner
    // recognises that as an unknown session and runs once more without --resume.
    claude.api.script([{ text: 'Fresh start.' }]);
    const { job } = await claude.run('Carry on.', { sessionId: 'expired-session' });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0, resultSessionId: expect.stringMatching(UUID) });
    expect(claude.api.requests).toHaveLength(1);
  });

  it('should fail on an API error (529 overloaded) with the CLI’s message', async () => {
    claude.api.script([{ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }]);
    const { job, events } = await claude.run('Say hello.');
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 1,
      costMicros: 0,
      resultSessionId: expect.stringMatching(UUID),
      errorMessage: expect.stringMatching(/^API Error: 529 Overloaded\./),
    });
    expect(resultOf(events)).toMatchObject({ subtype: 'success', is_error: true, api_error_status: 529 });
    claude.record('api-error', job.jobId);
  });

  it('should end a job whose API key is over its rate limit (429) as a usage limit; Claude Code states no reset then', async () => {
    claude.api.script([rateLimit(new Date(Date.now() + 120_000))]);
    const { job, events, exitCode } = await claude.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(
        /^usage limit reached \(the CLI gave no reset time\): API Error: Request rejected \(429\) · Number of request tokens/,
      ),
    });
    expect(exitCode).toBe(1);
    expect(usageLimitReset(job)).toBeNull();
    // The CLI prints no rate_limit_event for an API key: the retry-after and anthropic-ratelimit-* headers stay unread.
    expect(stdoutTypes(events)).toEqual(['system', 'assistant', 'result']);
    expect(resultOf(events)).toMatchObject({ is_error: true, api_error_status: 429, api_error_type: 'rate_limit_error' });
    expect(claude.api.requests).toHaveLength(1);
    claude.record('rate-limit', job.jobId);
  });

  it('should fail on a rejected API key (401) with the CLI’s message', async () => {
    claude.api.script([{ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }]);
    const { job, events } = await claude.run('Say hello.');
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, errorMessage: 'Invalid API key · Fix external API key' });
    expect(resultOf(events)).toMatchObject({ is_error: true, api_error_status: 401 });
    claude.record('auth-failure', job.jobId);
  });
});

/**
 * Claude Code logged in to a subscription (Pro, Max: `CLAUDE_CODE_OAUTH_TOKEN`), whose 5-hour window is spent: the
 * API's 429 carries the `anthropic-ratelimit-unified-*` headers, which Claude Code reads only on a subscription.
 * Checked with strace as the other runs: nothing but the fake API on loopback is contacted.
 */
describe.skipIf(!REAL_CLIS)('the real Claude Code CLI on a subscription, at its usage limit', () => {
  const claude = realCliSuite({
    ...CLAUDE_SUITE,
    setup: (sandbox, api) => claudeEnv(sandbox, api.url, { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-offline-test-token-not-a-secret' }),
  });

  it('should end the job as a usage limit with the reset Claude Code printed, without retrying', async () => {
    const resetAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 3 * 3600_000);
    claude.api.script([subscriptionLimit(resetAt)]);
    const { job, events, exitCode } = await claude.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(/^usage limit reached \(resets at \S+\): You've hit your 5-hour limit · resets /),
    });
    expect(exitCode).toBe(1);
    expect(usageLimitReset(job)).toBe(resetAt.getTime());
    const limitEvent = stdoutObjects(events).find((line) => line.type === 'rate_limit_event');
    expect(limitEvent).toMatchObject({
      rate_limit_info: { status: 'rejected', resetsAt: resetAt.getTime() / 1000, rateLimitType: 'five_hour' },
    });
    expect(stdoutObjects(events).at(-1)).toMatchObject({ type: 'result', is_error: true, api_error: 'usage_limit_reached' });
    // Even without CLAUDE_CODE_MAX_RETRIES a refused window is not retried; here one call was made.
    expect(claude.api.requests).toHaveLength(1);
    claude.record('usage-limit', job.jobId);
  });
});
