import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueJobInput, JobDetail, StoredEvent } from '../../src/control-plane/index.js';
import { base64, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FAKE_CLAUDE, RunnerProcess } from '../support/runner-process.js';

/**
 * Every adapter type, end to end: a job queued on the real reference control plane, the built runner as a child
 * process, and for each CLI a small fake (test/fixtures/agents/fake-<cli>.mjs) that refuses to run unless it was
 * started the way its adapter documents, then replays that CLI's recorded-shape output from test/fixtures/<cli>/.
 */
const fake = (name: string) => fileURLToPath(new URL(`../fixtures/agents/fake-${name}.mjs`, import.meta.url));
const FAKES = { codex: fake('codex'), gemini: fake('gemini'), opencode: fake('opencode'), cursor: fake('cursor'), pi: fake('pi') };
const FAKE_PROCESS = fake('process');
/** Two directories that exist (the runner grants a job only those), as the agent gets them: by their real paths. */
const extraDir = (name: string) => realpathSync(mkdtempSync(join(tmpdir(), `adapters-dir-${name}-`)));
const DIR_A = extraDir('a');
const DIR_B = extraDir('b');
const BIN_FLAGS = Object.entries(FAKES).map(([cli, path]) => `--${cli}-bin=${path}`);

/** What a run of one fixture must leave on the server: the kinds of its events, in order, and the completion. */
interface Expected {
  kinds: string[];
  job: Partial<JobDetail>;
  /** The fixture that plays it, when not the one named for the case (`error` for an error). */
  fixture?: string;
}

// The neutral event kinds, shortened for the table below.
const [MSG, CALL, RESULT, END] = ['model_message', 'tool_call', 'tool_result', 'run_complete'];

/**
 * Per adapter type: its fake's version line and what its tool-use fixture and its error fixture must produce, besides
 * the status every such run ends in (completed with exit code 0 after tool use, failed after an error).
 */
const CLI_ADAPTERS: Record<string, { version: string; toolUse: Expected; error: Expected }> = {
  codex_local: {
    version: 'codex-cli 0.0.0-fake',
    toolUse: {
      kinds: [MSG, MSG, MSG, MSG, CALL, RESULT, MSG, MSG, RESULT, MSG, END],
      job: { resultSessionId: '0199b7c0-2f4e-7a31-9d55-5c0a8e1f0b02', costMicros: null },
    },
    // Not its `error` fixture: that one is a usage limit, which a Part-2 server requeues and after which the runner
    // takes no codex job until the reset (test/e2e/usage-limits.spec.ts); this is a plain API error.
    error: {
      fixture: 'recorded-api-error',
      kinds: [MSG, MSG, MSG, END],
      job: {
        exitCode: 1,
        resultSessionId: '01a2125b-e47b-7af3-85e8-2ca601180b30',
        errorMessage:
          'unexpected status 401 Unauthorized: Incorrect API key provided: sk-offl***************cret., url: http://127.0.0.1:8080/v1/responses, request id: req_fake_1',
      },
    },
  },
  gemini_local: {
    version: '0.0.0-fake',
    toolUse: {
      kinds: [MSG, MSG, CALL, RESULT, CALL, RESULT, MSG, END],
      job: { resultSessionId: '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d', costMicros: null },
    },
    // Gemini exits 0 here: the failure is only in the stream (a result with status "error").
    error: {
      kinds: [MSG, MSG, MSG, END],
      job: {
        exitCode: 0,
        resultSessionId: '3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f',
        errorMessage: 'The model returned an empty text response. If your context window is near capacity, try using /compress.',
      },
    },
  },
  opencode_local: {
    version: '0.0.0-fake',
    // OpenCode prints a tool only once it has finished: tool results, no separate tool calls. Each step's cost adds up.
    toolUse: {
      kinds: [MSG, RESULT, RESULT, MSG, MSG, MSG, END],
      job: { resultSessionId: 'ses_4b1f1a7e3ffeC2pW9kLq5Vn8', costMicros: 4300 },
    },
    error: {
      kinds: [MSG, MSG],
      job: { exitCode: 0, resultSessionId: 'ses_4b1f2c9d5ffeH7tR3mBn6Yx2', errorMessage: 'APIError: failed to read request body' },
    },
  },
  cursor_local: {
    version: '2025.0.0-fake',
    toolUse: {
      kinds: [MSG, MSG, MSG, CALL, RESULT, CALL, RESULT, END],
      job: { resultSessionId: 'd4b2e3f5-6a71-4b8c-9d0e-1f2a3b4c5d6e', costMicros: null },
    },
    error: {
      kinds: [MSG, MSG, END],
      job: {
        exitCode: 1,
        resultSessionId: 'e5c3f4a6-7b82-4c9d-8e1f-2a3b4c5d6e7f',
        errorMessage: 'Connection to the model provider failed: 503 Service Unavailable',
      },
    },
  },
  pi_local: {
    version: '0.0.0-fake',
    toolUse: {
      kinds: [MSG, MSG, MSG, MSG, MSG, CALL, CALL, RESULT, MSG, MSG, MSG, MSG, MSG, END],
      job: { resultSessionId: '8e1f6a2b-4c3d-4e9f-a021-223344556677', costMicros: 4300 },
    },
    // Pi exits 0 after giving up its retries: the stream's verdict fails the job. Not its `error` fixture, a usage
    // limit (see codex above): a server error, after pi's one retry.
    error: {
      fixture: 'recorded-api-error',
      kinds: [MSG, MSG, MSG, MSG, MSG, MSG, MSG, MSG, END, MSG, MSG, MSG, MSG, MSG, MSG, END, MSG],
      job: {
        exitCode: 0,
        resultSessionId: '01a2272a-6d43-79ee-b0d7-84ff1eec6287',
        errorMessage: '500 The server had an error while processing your request.',
      },
    },
  },
};

/** The argv each adapter must produce for a resumed job with a model and two extra directories. */
const RESUME_ARGV: Record<string, (sessionId: string) => unknown[]> = {
  codex_local: (id) => [
    'exec',
    '--json',
    '--model',
    'm-1',
    '--skip-git-repo-check',
    '--add-dir',
    DIR_A,
    '--add-dir',
    DIR_B,
    'resume',
    id,
    '-',
  ],
  gemini_local: (id) => [
    '--output-format',
    'stream-json',
    '--model',
    'm-1',
    '--resume',
    id,
    '--include-directories',
    DIR_A,
    '--include-directories',
    DIR_B,
    '-p',
    '',
  ],
  // OpenCode, Cursor and pi have no flag for extra directories: none is passed.
  opencode_local: (id) => ['run', '--format', 'json', '--model', 'm-1', '--session', id],
  cursor_local: (id) => ['-p', '--output-format', 'stream-json', '--trust', '--model', 'm-1', '--resume', id],
  pi_local: (id) => [
    '--mode',
    'json',
    '-p',
    '--append-system-prompt',
    expect.stringMatching(/instructions\.md$/),
    '--model',
    'm-1',
    '--session',
    id,
  ],
};

const kinds = (events: StoredEvent[]) => events.map((event) => event.kind);
const stderrLines = (events: StoredEvent[]) =>
  events.filter((event) => event.kind === 'stderr_line').map((event) => event.payload as string);
/** A fake's `<name> argv: [...]` / `<name> stdin: "..."` echo on stderr, parsed. */
const echoed = (events: StoredEvent[], what: 'argv' | 'stdin' | 'instructions'): unknown => {
  const line = stderrLines(events).find((text) => new RegExp(`^fake-\\w+ ${what}: `).test(text));
  return line === undefined ? undefined : JSON.parse(line.slice(line.indexOf(': ') + 2));
};

describe('adapters end to end: the built runner against the real control plane, one fake CLI per adapter', () => {
  let server: TestControlPlane;
  beforeAll(async () => {
    server = await startTestControlPlane();
  });
  afterAll(() => server.close());

  /**
   * One runner, with every fake CLI and `extraArgs`, serving the jobs of the calling `describe` one at a time: started
   * before its first test, stopped after its last; the end of its output is printed when a test fails.
   */
  function serveWithRunner(extraArgs: string[] = []): void {
    let runner: RunnerProcess;
    // biome-ignore lint/suspicious/noDuplicateTestHooks: each call registers the hooks of a different describe
    beforeAll(() => {
      runner = new RunnerProcess(['start', `--server-url=${server.url}`, ...BIN_FLAGS, ...extraArgs], {
        FOUNDEROS_RUNNER_TOKEN: server.token,
        FOUNDEROS_CLAUDE_BIN: FAKE_CLAUDE,
      });
    });
    // biome-ignore lint/suspicious/noDuplicateTestHooks: each call registers the hooks of a different describe
    afterAll(() => runner.stop());
    afterEach((context) => {
      if (context.task.result?.state === 'fail')
        process.stderr.write(`runner output (last 8000 characters):\n${runner.stderr.slice(-8000)}\n`);
    });
  }

  /** Queues one job, waits for its completion, and returns it with its stored events. */
  async function run(prompt: Record<string, unknown>, extra: Partial<EnqueueJobInput>) {
    const queued = await server.enqueue(prompt, extra);
    const job = await server.waitForJob(queued.jobId);
    return { job, events: await server.events(queued.jobId) };
  }

  describe('with every agent CLI configured and process jobs allowed', () => {
    serveWithRunner(['--allow-process-jobs']);

    it.each(['claude_local', 'byo_runner'])(
      'should run a %s job with claude: claude_* events, cost, session id and version',
      async (adapterType) => {
        const { job, events } = await run({ mode: 'stream', lines: 2 }, { adapterType });
        expect(job).toMatchObject({
          status: 'completed',
          exitCode: 0,
          costMicros: 41200,
          resultSessionId: 'fake-session-0001',
          cliVersion: '9.9.9 (Fake Claude)',
        });
        expect(kinds(events)).toEqual([
          'claude_message',
          'claude_message',
          'claude_message',
          'claude_tool_use',
          'claude_tool_result',
          'claude_result',
        ]);
        expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      },
    );

    it.each(Object.keys(CLI_ADAPTERS))(
      'should run a %s job that uses tools: neutral event kinds, session id, cost and version',
      async (adapterType) => {
        const { version, toolUse } = CLI_ADAPTERS[adapterType]!;
        const { job, events } = await run({ fixture: 'tool-use' }, { adapterType });
        expect(job).toMatchObject({ status: 'completed', exitCode: 0, ...toolUse.job, cliVersion: version, errorMessage: null });
        expect(kinds(events)).toEqual(toolUse.kinds);
        expect(kinds(events)).toContain('run_complete');
        expect(kinds(events).some((kind) => kind.startsWith('claude_'))).toBe(false);
        expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
      },
    );

    it.each(Object.keys(CLI_ADAPTERS))('should fail a %s job whose CLI reported an error, with its message', async (adapterType) => {
      const { version, error } = CLI_ADAPTERS[adapterType]!;
      const { job, events } = await run({ fixture: error.fixture ?? 'error' }, { adapterType });
      expect(job).toMatchObject({ status: 'failed', ...error.job, cliVersion: version });
      expect(kinds(events)).toEqual(error.kinds);
    });

    it.each(Object.keys(CLI_ADAPTERS))(
      'should resume a %s session with its flags, model and directories, prompt on stdin only',
      async (adapterType) => {
        const sessionId = `resume-${adapterType}`;
        const prompt = { fixture: 'success', echoArgv: true, echoStdin: true };
        const { job, events } = await run(prompt, {
          adapterType,
          sessionId,
          model: 'm-1',
          addDirs: [DIR_A, DIR_B],
          instructionsFileContent: base64('Be brief.'),
        });
        expect(job).toMatchObject({ status: 'completed', exitCode: 0, resultSessionId: sessionId });
        expect(echoed(events, 'argv')).toEqual(RESUME_ARGV[adapterType]!(sessionId));
        // A resumed session already holds the instructions: only the prompt goes on stdin.
        expect(echoed(events, 'stdin')).toBe(JSON.stringify(prompt));
      },
    );

    it.each(['codex_local', 'gemini_local', 'opencode_local', 'cursor_local'])(
      'should put the instructions before the prompt on stdin of a new %s session',
      async (adapterType) => {
        const prompt = { fixture: 'success', echoStdin: true };
        const { job, events } = await run(prompt, { adapterType, instructionsFileContent: base64('Be brief.\n') });
        expect(job.status).toBe('completed');
        expect(echoed(events, 'stdin')).toBe(`Be brief.\n\n${JSON.stringify(prompt)}`);
      },
    );

    it('should hand pi the instructions in a file and the prompt alone on stdin', async () => {
      const prompt = { fixture: 'success', echoStdin: true };
      const { job, events } = await run(prompt, { adapterType: 'pi_local', instructionsFileContent: base64('Be brief.') });
      expect(job).toMatchObject({ status: 'completed', costMicros: 2600, resultSessionId: '7d0e5f1a-3b2c-4d8e-9f10-112233445566' });
      expect(echoed(events, 'stdin')).toBe(JSON.stringify(prompt));
      expect(echoed(events, 'instructions')).toBe('Be brief.');
    });

    it('should pass codex no --skip-git-repo-check when the job keeps the check', async () => {
      const { events } = await run(
        { fixture: 'success', echoArgv: true },
        { adapterType: 'codex_local', runtimeConfig: { skipGitRepoCheck: false } },
      );
      expect(echoed(events, 'argv')).toEqual(['exec', '--json', '-']);
    });

    it('should fail a job whose CLI printed no JSON verdict with the end of its stderr and its exit code', async () => {
      const gemini = await run({ fixture: 'auth-failure' }, { adapterType: 'gemini_local' });
      expect(gemini.job).toMatchObject({ status: 'failed', exitCode: 41, errorMessage: expect.stringContaining('401 UNAUTHENTICATED') });
      const cursor = await run({ fixture: 'auth-failure' }, { adapterType: 'cursor_local' });
      expect(cursor.job).toMatchObject({
        status: 'failed',
        exitCode: 1,
        errorMessage: expect.stringContaining('cursor-agent login'),
        resultSessionId: null,
      });
      expect(kinds(cursor.events)).toEqual(['stderr_line']);
    });

    it('should fail the job with the fake CLI’s own complaint when the runner starts it wrongly', async () => {
      // A fake started with an argv its adapter never produces exits 2 naming the problem: proven here with a process job.
      const { job } = await run(
        { expectArgs: ['--right'] },
        { adapterType: 'process', runtimeConfig: { command: FAKE_PROCESS, args: ['--wrong'] } },
      );
      expect(job).toMatchObject({
        status: 'failed',
        exitCode: 2,
        errorMessage: expect.stringContaining('fake-process: started wrongly: expected the arguments ["--right"]'),
      });
    });

    it('should run a process job: the named program with its arguments, prompt on stdin, instructions file in the environment', async () => {
      const args = ['--greeting', 'hello world', '$HOME'];
      const { job, events } = await run(
        { expectArgs: args },
        { adapterType: 'process', runtimeConfig: { command: FAKE_PROCESS, args }, instructionsFileContent: base64('Be brief.') },
      );
      expect(job).toMatchObject({ status: 'completed', exitCode: 0, resultSessionId: null, costMicros: null, cliVersion: null });
      expect(events.map((event) => [event.kind, event.payload])).toEqual([
        ['model_message', { type: 'progress', step: 1, argv: args }],
        ['stdout_line', 'plain text from the process'],
        ['model_message', { type: 'instructions', text: 'Be brief.' }],
      ]);
    });

    it('should fail a process job whose program exits non-zero, with its stderr', async () => {
      const { job } = await run({ expectArgs: [], exitCode: 5 }, { adapterType: 'process', runtimeConfig: { command: FAKE_PROCESS } });
      expect(job).toMatchObject({ status: 'failed', exitCode: 5, errorMessage: 'fake-process: failing with exit code 5 as asked' });
    });

    it('should fail a process job that names no command, saying what to set', async () => {
      const { job } = await run({}, { adapterType: 'process' });
      expect(job).toMatchObject({ status: 'failed', errorMessage: expect.stringContaining('runtimeConfig.command is missing') });
    });

    it('should fail a job whose adapter type this runner does not know, listing the ones it runs', async () => {
      const { job, events } = await run({}, { adapterType: 'quantum_agent' });
      expect(job).toMatchObject({
        status: 'failed',
        exitCode: -1,
        errorMessage: expect.stringContaining('adapter type "quantum_agent" is not supported'),
      });
      expect(job.errorMessage).toContain(
        'claude_local, byo_runner, codex_local, gemini_local, opencode_local, cursor_local, pi_local, process',
      );
      expect(events).toEqual([]);
    });

    it('should retry a claude resume of an unknown session once in a fresh session, keeping the events of both runs in order', async () => {
      const { job, events } = await run({ mode: 'expiring-session' }, { adapterType: 'claude_local', sessionId: 'expired-session' });
      expect(job).toMatchObject({
        status: 'completed',
        exitCode: 0,
        resultSessionId: 'fake-session-fresh',
        costMicros: 2100,
        errorMessage: null,
      });
      expect(events.map((event) => [event.seq, event.kind])).toEqual([
        [0, 'claude_result'],
        [1, 'claude_message'],
        [2, 'claude_message'],
        [3, 'claude_result'],
      ]);
      expect(events[0]!.payload).toMatchObject({ is_error: true, result: 'No conversation found with session ID: expired-session' });
      expect(events[3]!.payload).toMatchObject({ is_error: false, session_id: 'fake-session-fresh' });
    });

    it('should retry the same way when claude reports the unknown session as the real CLI does (errors[] and stderr)', async () => {
      const { job, events } = await run(
        { mode: 'expiring-session', shape: 'errors' },
        { adapterType: 'claude_local', sessionId: 'expired-session' },
      );
      expect(job).toMatchObject({ status: 'completed', resultSessionId: 'fake-session-fresh' });
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
      expect(kinds(events)).toEqual(['claude_result', 'stderr_line', 'claude_message', 'claude_message', 'claude_result']);
    });
  });

  describe('without --allow-process-jobs', () => {
    serveWithRunner();

    it('should refuse a process job, naming the flag, and keep serving other jobs', async () => {
      const refused = await run({ expectArgs: [] }, { adapterType: 'process', runtimeConfig: { command: FAKE_PROCESS } });
      expect(refused.job).toMatchObject({ status: 'failed', exitCode: -1, errorMessage: expect.stringContaining('--allow-process-jobs') });
      expect(refused.events).toEqual([]);
      const next = await run({ fixture: 'success' }, { adapterType: 'codex_local' });
      expect(next.job.status).toBe('completed');
    });
  });
});
