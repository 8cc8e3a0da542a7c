import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EnqueueJobInput, JobDetail, StoredEvent } from '../../src/control-plane/index.js';
import { COMPANY, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { conversationText, startFakeAnthropic, type FakeAnthropic } from './fake-anthropic.js';
import { REAL_CLIS, RealRunner, agentBinary, UUID, installedCli, makeSandbox, record, stderrLines, stdoutObjects, type Sandbox } from './support.js';

/**
 * The real Claude Code CLI as the agent of the real runner, against the real control plane, offline: its model API
 * is test/real-clis/fake-anthropic.ts on loopback. What runs headless without a permission prompt, as root too
 * (where --dangerously-skip-permissions is refused): read-only tools (Read, Glob, Grep, and Bash commands Claude
 * Code classes as read-only, such as `echo`, `ls`, `cat`); a command that writes is refused and reported back to
 * the model as a tool error unless an allow rule in settings.json (here in CLAUDE_CONFIG_DIR) permits it.
 */
describe.skipIf(!REAL_CLIS)('the real Claude Code CLI, driven by the runner, against a fake Anthropic API', () => {
  let server: TestControlPlane;
  let api: FakeAnthropic;
  let sandbox: Sandbox;
  let runner: RealRunner;
  let configDir: string;

  beforeAll(async () => {
    const claude = installedCli('claude');
    [server, api] = await Promise.all([startTestControlPlane(), startFakeAnthropic()]);
    sandbox = makeSandbox('claude');
    configDir = join(sandbox.home, '.claude');
    mkdirSync(configDir);
    const agent = agentBinary(claude, sandbox);
    runner = new RealRunner(server.url, server.token, sandbox, [`--claude-bin=${agent.bin}`], {
      ...agent.env,
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: 'sk-ant-api03-offline-test-key-not-a-secret',
      CLAUDE_CONFIG_DIR: configDir,
      // Offline and non-interactive: no update check, no telemetry or error reports, no retries of a failed call.
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await Promise.all([server?.close(), api?.close()]);
    sandbox?.remove();
  });
  beforeEach(() => api.reset());
  afterEach((context) => {
    if (context.task.result?.state === 'fail') process.stderr.write(`runner output (last 6000 characters):\n${runner.stderr.slice(-6000)}\n`);
    // Nothing but the Messages API should have been asked for.
    expect(api.unknownRoutes).toEqual([]);
  });

  async function run(prompt: string, extra: Partial<EnqueueJobInput> = {}): Promise<{ job: JobDetail; events: StoredEvent[] }> {
    const queued = await server.admin.enqueueJob({ companyId: COMPANY, agentName: 'Claude', prompt, adapterType: 'claude_local', ...extra });
    const job = await server.waitForJob(queued.jobId, undefined, 90_000);
    return { job, events: await server.events(queued.jobId) };
  }
  const kinds = (events: StoredEvent[]) => events.map((event) => event.kind);
  const resultOf = (events: StoredEvent[]) => events.findLast((event) => event.kind === 'claude_result')!.payload as Record<string, unknown>;

  it('should complete a plain answer with its cost, session id and version', async () => {
    api.script([{ text: 'Hello from the fake Anthropic API.' }]);
    const { job, events } = await run('Say hello.');
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
    expect(events[0]!.payload).toMatchObject({ type: 'system', subtype: 'init', session_id: job.resultSessionId, cwd: sandbox.workspace });
    expect(kinds(events).at(-1)).toBe('claude_result');
    expect(kinds(events)).not.toContain('claude_tool_use');
    // The prompt reached the model (through stdin).
    expect(api.requests).toHaveLength(1);
    expect(conversationText(api.requests[0]!)).toContain('Say hello.');
    expect(api.requests[0]!.headers['x-api-key']).toBe('sk-ant-api03-offline-test-key-not-a-secret');
    record('claude', 'plain', sandbox, job.jobId);
  });

  it('should run a Bash tool the model asked for and send its output back: tool use and tool result events', async () => {
    api.script([
      { text: 'I will run it.', toolUse: { name: 'Bash', input: { command: 'echo hi-from-bash', description: 'Print a greeting' } } },
      { text: 'The command printed hi-from-bash.' },
    ]);
    const { job, events } = await run('Run echo for me.');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    const toolUse = events.find((event) => event.kind === 'claude_tool_use');
    const toolResult = events.find((event) => event.kind === 'claude_tool_result');
    expect(toolUse?.payload).toMatchObject({ message: { content: expect.arrayContaining([expect.objectContaining({ type: 'tool_use', name: 'Bash' })]) } });
    expect(toolResult?.payload).toMatchObject({ message: { content: [expect.objectContaining({ type: 'tool_result', content: 'hi-from-bash', is_error: false })] } });
    expect(toolUse!.seq!).toBeLessThan(toolResult!.seq!);
    // The CLI called the model again with the command's real output.
    expect(api.requests).toHaveLength(2);
    expect(conversationText(api.requests[1]!)).toMatch(/"type":"tool_result".*hi-from-bash|hi-from-bash.*"type":"tool_result"/);
    expect(resultOf(events)).toMatchObject({ is_error: false, result: 'The command printed hi-from-bash.', num_turns: 2 });
    record('claude', 'tool-use', sandbox, job.jobId);
  });

  it('should read a workspace file with the Read tool', async () => {
    writeFileSync(join(sandbox.workspace, 'notes.txt'), 'the answer is 42\n');
    api.script([{ toolUse: { name: 'Read', input: { file_path: join(sandbox.workspace, 'notes.txt') } } }, { text: 'It says 42.' }]);
    const { job, events } = await run('What is in notes.txt?');
    expect(job.status).toBe('completed');
    expect(JSON.stringify(events.find((event) => event.kind === 'claude_tool_result')?.payload)).toContain('the answer is 42');
    expect(conversationText(api.requests[1]!)).toContain('the answer is 42');
  });

  it('should refuse a writing command headless, report it to the model, and still complete; a settings allow rule lets it run', async () => {
    const touch = { toolUse: { name: 'Bash', input: { command: 'touch made-by-claude.txt', description: 'Create a file' } } };
    api.script([touch, { text: 'I could not create it.' }]);
    const refused = await run('Create made-by-claude.txt.');
    // The CLI's verdict is success: a refused tool is the model's problem, not the run's. The runner says completed.
    expect(refused.job.status).toBe('completed');
    const refusal = refused.events.find((event) => event.kind === 'claude_tool_result')?.payload;
    expect(refusal).toMatchObject({ message: { content: [expect.objectContaining({ is_error: true, content: expect.stringContaining('needs approval') })] } });
    expect(resultOf(refused.events).permission_denials).toEqual([expect.objectContaining({ tool_name: 'Bash' })]);
    expect(existsSync(join(sandbox.workspace, 'made-by-claude.txt'))).toBe(false);
    record('claude', 'permission-denied', sandbox, refused.job.jobId);

    const settings = join(configDir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ permissions: { allow: ['Bash(touch:*)'] } }));
    try {
      api.reset();
      api.script([touch, { text: 'Created.' }]);
      const allowed = await run('Create made-by-claude.txt.');
      expect(allowed.job.status).toBe('completed');
      expect(existsSync(join(sandbox.workspace, 'made-by-claude.txt'))).toBe(true);
      expect(resultOf(allowed.events).permission_denials).toEqual([]);
    } finally {
      rmSync(settings, { force: true });
      rmSync(join(sandbox.workspace, 'made-by-claude.txt'), { force: true });
    }
  });

  it('should accept every flag the adapter passes: model, max turns, instructions file, extra directories', async () => {
    const extra = join(sandbox.root, 'extra-dir');
    mkdirSync(extra, { recursive: true });
    api.script([{ text: 'Done.' }]);
    const { job, events } = await run('Say done.', { model: 'sonnet', maxTurns: 3, instructionsFileContent: 'Answer tersely. Codeword: PAPAYA-7.', addDirs: [extra] });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(events[0]!.payload).toMatchObject({ subtype: 'init', model: expect.stringMatching(/sonnet/), additional_directories: [extra] });
    expect(api.requests[0]!.body.model).toMatch(/sonnet/);
    // --append-system-prompt-file: the instructions reach the model, in the system prompt and not in the user turn.
    expect(JSON.stringify(api.requests[0]!.body)).toContain('Codeword: PAPAYA-7.');
    expect(JSON.stringify(api.requests[0]!.body.messages.filter((message) => message.role === 'user'))).not.toContain('PAPAYA-7');
  });

  it('should fail a run that reaches its max turns, with the CLI’s reason', async () => {
    api.script([{ toolUse: { name: 'Bash', input: { command: 'echo one', description: 'Print one' } } }, { toolUse: { name: 'Bash', input: { command: 'echo two', description: 'Print two' } } }]);
    const { job, events } = await run('Keep going.', { maxTurns: 1 });
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, errorMessage: 'Reached maximum number of turns (1)' });
    expect(resultOf(events)).toMatchObject({ subtype: 'error_max_turns', is_error: true });
    record('claude', 'max-turns', sandbox, job.jobId);
  });

  it('should resume the previous session: same session id, and the model sees the earlier conversation', async () => {
    api.script([{ text: 'I will remember the word banana.' }]);
    const first = await run('Remember the word banana.');
    expect(first.job.status).toBe('completed');

    api.reset();
    api.script([{ text: 'The word was banana.' }]);
    const second = await run('Which word did I ask you to remember?', { sessionId: first.job.resultSessionId! });
    expect(second.job).toMatchObject({ status: 'completed', resultSessionId: first.job.resultSessionId });
    expect(stdoutObjects(second.events).map((line) => line.session_id)).toEqual(stdoutObjects(second.events).map(() => first.job.resultSessionId));
    const seen = conversationText(api.requests[0]!);
    expect(seen).toContain('Remember the word banana.');
    expect(seen).toContain('I will remember the word banana.');
    expect(seen).toContain('Which word did I ask you to remember?');
    record('claude', 'resume', sandbox, second.job.jobId);
  });

  it('should start a fresh session when the session to resume is unknown, keeping both runs’ events in order', async () => {
    const unknown = randomUUID();
    api.script([{ text: 'Fresh start.' }]);
    const { job, events } = await run('Carry on.', { sessionId: unknown });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0, resultSessionId: expect.stringMatching(UUID) });
    expect(job.resultSessionId).not.toBe(unknown);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    // The failed resume, as the real CLI reports it: no `result` text, the reason in `errors`, and on stderr.
    const failedAt = events.findIndex((event) => event.kind === 'claude_result');
    expect(events[failedAt]!.payload).toMatchObject({
      subtype: 'error_during_execution',
      is_error: true,
      session_id: unknown,
      errors: [`No conversation found with session ID: ${unknown}`],
    });
    expect(stderrLines(events)).toContain(`No conversation found with session ID: ${unknown}`);
    expect(runner.stderr).toContain('the agent does not know the session to resume');
    record('claude', 'unknown-session', sandbox, job.jobId, { run: 1, withStderr: true });
  });

  it('should start a fresh session when the session id to resume is not a UUID the CLI knows', async () => {
    // claude -p --resume refuses it with 'is not a UUID and does not match any session title': the runner
    // recognises that as an unknown session and runs once more without --resume.
    api.script([{ text: 'Fresh start.' }]);
    const { job } = await run('Carry on.', { sessionId: 'expired-session' });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0, resultSessionId: expect.stringMatching(UUID) });
    expect(api.requests).toHaveLength(1);
  });

  it('should fail on an API error (529 overloaded) with the CLI’s message', async () => {
    api.script([{ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }]);
    const { job, events } = await run('Say hello.');
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, costMicros: 0, resultSessionId: expect.stringMatching(UUID), errorMessage: expect.stringMatching(/^API Error: 529 Overloaded\./) });
    expect(resultOf(events)).toMatchObject({ subtype: 'success', is_error: true, api_error_status: 529 });
    record('claude', 'api-error', sandbox, job.jobId);
  });

  it('should fail on a rejected API key (401) with the CLI’s message', async () => {
    api.script([{ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }]);
    const { job, events } = await run('Say hello.');
    expect(job).toMatchObject({ status: 'failed', exitCode: 1, errorMessage: 'Invalid API key · Fix external API key' });
    expect(resultOf(events)).toMatchObject({ is_error: true, api_error_status: 401 });
    record('claude', 'auth-failure', sandbox, job.jobId);
  });
});
