import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesOfJob } from '../../src/streams/orphans.js';
import { base64, startTestControlPlane } from '../support/control-plane.js';
import { serverAndRunners } from '../support/end-to-end.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { RunnerProcess, freePort, isAlive, until } from '../support/runner-process.js';

/**
 * The built CLI as a child process, against the real reference control plane over HTTP, with a fake
 * `claude` script as the agent: what a user's machine does, in seconds.
 */
/** Instructions with characters that a decoder reading bytes as Latin-1, or not decoding at all, would change. */
const INSTRUCTIONS = 'Be terse. Ünïcode ✓ — 日本語, emoji 🚀, and a last line\n';

/** Two directories that exist (the runner grants a job only those), as the agent gets them: by their real paths. */
const extraDir = (name: string) => realpathSync(mkdtempSync(join(tmpdir(), `runner-dir-${name}-`)));
const DIR_A = extraDir('a');
const DIR_B = extraDir('b');

/**
 * The processes of a running job, found here by its marker, FOUNDEROS_JOB_ID (in the sandbox an agent knows only the
 * pids of its own namespace): the fake agent and the grandchild it starts, and bwrap's two in the sandbox.
 */
function agentProcesses(jobId: string): number[] {
  const pids = processesOfJob(jobId);
  expect(pids.length).toBeGreaterThanOrEqual(2);
  return pids;
}

describe('founderos-runner start (end to end)', () => {
  const e2e = serverAndRunners();
  const { start } = e2e;

  it('should deliver 10,000 lines once each, in order, in requests of at most 256 events, and report cost, session and version', async () => {
    // A server that takes 20 ms per batch: the lines printed meanwhile wait, and go as one request.
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, path }) =>
      method === 'POST' && path.endsWith('/events') ? { delayMs: 20 } : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 10_000 });
      start([], {}, proxy.url);
      const done = await e2e.server.waitForJob(job.jobId, undefined, 60_000);
      expect(done).toMatchObject({
        status: 'completed',
        exitCode: 0,
        costMicros: 41200,
        resultSessionId: 'fake-session-0001',
        cliVersion: '9.9.9 (Fake Claude)',
      });

      const events = await e2e.server.events(job.jobId);
      // init + 10,000 lines + tool use + tool result + result
      expect(events).toHaveLength(10_004);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
      const texts = events
        .slice(1, 10_001)
        .map((event) => (event.payload as { message: { content: { text: string }[] } }).message.content[0]!.text);
      expect(texts).toEqual(texts.map((_, index) => `line ${index}`));
      expect(events.slice(-3).map((event) => event.kind)).toEqual(['claude_tool_use', 'claude_tool_result', 'claude_result']);

      const batches = proxy.recorded.filter((request) => request.events !== undefined);
      expect(batches.every((batch) => batch.events! >= 1 && batch.events! <= 256)).toBe(true);
      expect(batches.some((batch) => batch.events! > 32)).toBe(true);
      expect(batches.reduce((sum, batch) => sum + batch.events!, 0)).toBe(10_004);
      // the completion comes after every batch was accepted; the proxy records the completion only when the
      // server's answer reaches it, which can be after the job already reads as completed
      const isCompletion = (request: { path: string }) => request.path.endsWith('/complete');
      await until(
        () => proxy.recorded.some(isCompletion),
        5_000,
        () => 'the proxy never saw the completion',
      );
      const completeAt = proxy.recorded.findIndex(isCompletion);
      expect(proxy.recorded.slice(completeAt).some((request) => request.events !== undefined)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('should finish and report the running job on SIGTERM, then exit 0', async () => {
    const job = await e2e.server.enqueue({ mode: 'stream', lines: 40, delayMs: 25 });
    start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    e2e.runner!.signal('SIGTERM');
    const { code } = await e2e.runner!.exit;
    expect(code).toBe(0);
    const done = await e2e.server.admin.getJob(job.jobId);
    expect(done.status).toBe('completed');
    expect(done.eventCount).toBe(44);
    expect(e2e.runner!.stderr).toContain('stopping: no new jobs');
  });

  it('should cancel the running job on a second signal, kill its process group, and exit', async () => {
    const job = await e2e.server.enqueue({ mode: 'hang', ignoreTerm: true });
    start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    const pids = agentProcesses(job.jobId);
    e2e.runner!.signal('SIGINT');
    await e2e.runner!.waitForLog(/stopping: no new jobs/);
    e2e.runner!.signal('SIGINT');
    const { code } = await e2e.runner!.exit;
    expect(code).toBe(0);
    expect(await e2e.server.admin.getJob(job.jobId)).toMatchObject({
      status: 'cancelled',
      errorMessage: expect.stringContaining('told to stop now'),
    });
    await until(
      () => !pids.some(isAlive) && processesOfJob(job.jobId).length === 0,
      2_000,
      () => 'agent processes survived the cancel',
    );
  });

  it('should fail a job that runs past its timeout, and kill the agent and its grandchildren', async () => {
    const job = await e2e.server.enqueue({ mode: 'hang', ignoreTerm: true }, { timeoutSec: 3 });
    start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    const pids = agentProcesses(job.jobId);
    const done = await e2e.server.waitForJob(job.jobId);
    expect(done).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/^timed out after 3 s/) });
    await until(
      () => !pids.some(isAlive) && processesOfJob(job.jobId).length === 0,
      3_000,
      () => 'agent processes survived the timeout',
    );
  });

  it('should report a non-zero exit as failed with the end of stderr', async () => {
    const job = await e2e.server.enqueue({ mode: 'fail', code: 3 });
    start();
    const done = await e2e.server.waitForJob(job.jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: 3, errorMessage: 'fatal: something broke\nsecond line of the error' });
    expect((await e2e.server.events(job.jobId)).map((event) => event.kind)).toEqual(['stderr_line', 'stderr_line']);
  });

  it('should report an error result as failed even when claude says "success"', async () => {
    const job = await e2e.server.enqueue({ mode: 'error-result' });
    start();
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({
      status: 'failed',
      errorMessage: 'Failed to authenticate: OAuth session expired',
    });
  });

  it('should turn garbage and invalid UTF-8 into text lines, decoding characters split across chunks', async () => {
    const job = await e2e.server.enqueue({ mode: 'garbage' });
    start();
    expect((await e2e.server.waitForJob(job.jobId)).status).toBe('completed');
    const events = await e2e.server.events(job.jobId);
    expect(events.map((event) => [event.kind, event.payload])).toEqual([
      ['stdout_line', 'not json at all'],
      ['stdout_line', '{"broken json'],
      ['stdout_line', 'hi\uFFFD\uFFFD!'],
      ['stdout_line', 'café ok'],
      ['stdout_line', 'last line without newline'],
    ]);
  });

  it('should cut a 3 MiB line to 1 MiB with a visible marker and keep going', async () => {
    const job = await e2e.server.enqueue({ mode: 'huge-line', bytes: 3 * 1024 * 1024 });
    start();
    expect((await e2e.server.waitForJob(job.jobId)).status).toBe('completed');
    const [huge, after] = await e2e.server.events(job.jobId);
    const text = huge!.payload as string;
    expect(text.startsWith('A'.repeat(1024 * 1024))).toBe(true);
    expect(text.slice(1024 * 1024)).toMatch(/truncated 2097152 bytes/);
    expect(after!.payload).toBe('after');
  });

  it('should store every hostile line an agent prints, once each, and still report the session id and cost', async () => {
    const deep = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const base64 = (chunk: string | Buffer) => Buffer.from(chunk).toString('base64');
    const stdout: (string | Buffer | { base64: string; times: number })[] = [
      '{"type":"assistant","message":{"content":[{"type":"text","text":"cut emoji \\ud83d"}]}}\n',
      '{"type":"assistant","k\\u0000":1}\n',
      `${deep}\n`,
      Buffer.from('raw\0nul\n'),
      { base64: base64('\x01'), times: 1024 * 1024 },
      '\n',
      '[1,2]\n"str"\nnull\n',
      Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x21, 0x0a]),
      'crlf\r\nlone\rcr\n',
      '{"type":"result","subtype":"success","is_error":false,"result":"done \\udc00","session_id":"hostile-session","total_cost_usd":0.5}\n',
    ];
    const job = await e2e.server.enqueue({
      mode: 'print',
      chunks: stdout.map((chunk) => (typeof chunk === 'object' && 'times' in chunk ? chunk : base64(chunk))),
      stderr: [base64('err\0\n')],
    });
    start();
    const done = await e2e.server.waitForJob(job.jobId);
    expect(done).toMatchObject({ status: 'completed', errorMessage: null, resultSessionId: 'hostile-session', costMicros: 500_000 });
    const events = await e2e.server.events(job.jobId);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    const shown = events.map((event) => [event.kind, typeof event.payload === 'string' ? event.payload.slice(0, 40) : event.payload]);
    expect(shown).toEqual([
      ['claude_message', { type: 'assistant', message: { content: [{ type: 'text', text: 'cut emoji \uFFFD' }] } }],
      ['claude_message', { type: 'assistant', 'k\uFFFD': 1 }],
      ['stdout_line', deep.slice(0, 40)],
      ['stdout_line', 'raw\uFFFDnul'],
      ['stdout_line', '\x01'.repeat(40)],
      ['stdout_line', '[1,2]'],
      ['stdout_line', '"str"'],
      ['stdout_line', 'null'],
      ['stdout_line', 'hi\uFFFD\uFFFD!'],
      ['stdout_line', 'crlf'],
      ['stdout_line', 'lone\rcr'],
      ['claude_result', expect.objectContaining({ result: 'done \uFFFD', session_id: 'hostile-session' })],
      ['stderr_line', 'err\uFFFD'],
    ]);
    expect(events[2]!.payload).toBe(deep);
    expect(events[4]!.payload).toMatch(/^\x01+ …\[truncated \d+ bytes\]$/);
    expect(e2e.runner!.stderr).toMatch(
      /agent output changed so that the server can store it: an event over the request size budget was cut/,
    );
  });

  it('should set aside a batch the server refuses, deliver the lines after it, and fail the job saying what was lost', async () => {
    // A server that takes bodies of at most 64 KiB refuses (413) the batch holding a 100 KB line.
    const small = await startTestControlPlane({ maxBodyBytes: 64 * 1024 });
    try {
      const lines = [`${'A'.repeat(100_000)}\n`, 'after\n', '{"type":"result","subtype":"success","is_error":false,"result":"done"}\n'];
      // 200 ms apart: each line leaves in a batch of its own.
      const job = await small.enqueue({ mode: 'print', delayMs: 200, chunks: lines.map((line) => Buffer.from(line).toString('base64')) });
      start([], { FOUNDEROS_RUNNER_TOKEN: small.token }, small.url);
      const done = await small.waitForJob(job.jobId);
      expect(done).toMatchObject({ status: 'failed', exitCode: 0 });
      expect(done.errorMessage).toMatch(
        /^the agent finished \(exit 0\), but 1 event in 1 batch was not accepted by the server \(413 payload_too_large, requestId [^)]+\); the transcript is incomplete$/,
      );
      const events = await small.events(job.jobId);
      expect(events.map((event) => event.seq)).toEqual([1, 2]);
      expect(events.map((event) => event.kind)).toEqual(['stdout_line', 'claude_result']);
      expect(events[0]!.payload).toBe('after');
      await e2e.runner!.waitForLog(/the server refused an events batch; it is set aside so that later lines flow/);
    } finally {
      await e2e.runner?.stop();
      await small.close();
    }
  });

  it('should fail the job with a fix when the agent binary is missing, and keep serving', async () => {
    const first = await e2e.server.enqueue({ mode: 'stream' });
    start(['--claude-bin=/nonexistent/bin/claude']);
    expect(await e2e.server.waitForJob(first.jobId)).toMatchObject({
      status: 'failed',
      exitCode: 127,
      errorMessage: expect.stringContaining('/nonexistent/bin/claude: command not found; install Claude Code'),
    });
    const second = await e2e.server.enqueue({ mode: 'stream' });
    expect((await e2e.server.waitForJob(second.jobId)).status).toBe('failed');
    expect(e2e.runner!.child.exitCode).toBeNull();
  });

  it('should keep the token out of the agent environment and out of every log line', async () => {
    const job = await e2e.server.enqueue({ mode: 'env' });
    start(['--log-level=debug'], { CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli', MY_COPY_OF_TOKEN: e2e.server.token });
    expect((await e2e.server.waitForJob(job.jobId)).status).toBe('completed');
    const env = ((await e2e.server.events(job.jobId))[0]!.payload as { env: Record<string, string> }).env;
    expect(env.FOUNDEROS_RUNNER_TOKEN).toBeUndefined();
    expect(env.MY_COPY_OF_TOKEN).toBeUndefined();
    expect(env.CLAUDECODE).toBeUndefined();
    expect(env.CLAUDE_CODE_ENTRYPOINT).toBeUndefined();
    expect(env.FOUNDEROS_JOB_ID).toBe(job.jobId);
    expect(JSON.stringify(env)).not.toContain(e2e.server.token);
    e2e.runner!.signal('SIGTERM');
    await e2e.runner!.exit;
    expect(e2e.runner!.stderr).toContain(e2e.server.token.slice(0, 8));
    expect(e2e.runner!.stderr + e2e.runner!.stdout).not.toContain(e2e.server.token);
  });

  it('should pass resume, model, max turns and add-dirs, and instructions sent as base64 in a private file removed afterwards', async () => {
    const job = await e2e.server.enqueue(
      { mode: 'args' },
      {
        sessionId: 'prev-session',
        model: 'sonnet',
        maxTurns: 4,
        addDirs: [DIR_A, DIR_B],
        instructionsFileContent: base64(INSTRUCTIONS),
      },
    );
    start();
    const done = await e2e.server.waitForJob(job.jobId);
    expect(done).toMatchObject({ status: 'completed', resultSessionId: 'prev-session' });
    const [argsEvent, instructionsEvent] = await e2e.server.events(job.jobId);
    const { argv } = argsEvent!.payload as { argv: string[] };
    expect(argv).toEqual([
      '--print',
      '--output-format',
      'stream-json',
      '--verbose',
      '--resume',
      'prev-session',
      '--model',
      'sonnet',
      '--max-turns',
      '4',
      '--append-system-prompt-file',
      expect.any(String),
      '--add-dir',
      DIR_A,
      '--add-dir',
      DIR_B,
    ]);
    const instructions = instructionsEvent!.payload as { instructionsPath: string; mode: string; message: { content: { text: string }[] } };
    // The original text, non-ASCII included: not the base64 it travelled as.
    expect(instructions.message.content[0]!.text).toBe(INSTRUCTIONS);
    expect(instructions.mode).toBe('600');
    // Beside the job's spool while the agent runs, so that a restart after kill -9 finds and removes it.
    expect(dirname(instructions.instructionsPath)).toBe(e2e.runner!.spoolDir);
    expect(existsSync(instructions.instructionsPath)).toBe(false);
  });

  it('should fail a job whose instructions are not base64, naming the field, and start no agent', async () => {
    // A server that sends the instructions as text (the reference server refuses to store such a job).
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path.endsWith('/claim')
        ? {
            rewrite: (status, body) => {
              const payload = JSON.parse(body);
              return {
                status,
                body: JSON.stringify({ ...payload, runtimeConfig: { ...payload.runtimeConfig, instructionsFileContent: INSTRUCTIONS } }),
              };
            },
          }
        : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'args' }, { instructionsFileContent: base64(INSTRUCTIONS) });
      start([], {}, proxy.url);
      expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({
        status: 'failed',
        exitCode: -1,
        errorMessage: expect.stringMatching(/^runtimeConfig\.instructionsFileContent must be base64 .*so no agent was started/),
      });
      expect(await e2e.server.events(job.jobId)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('should fail a job whose field would reach the agent as a flag, naming the field, and start no agent', async () => {
    const job = await e2e.server.enqueue({ mode: 'args' }, { sessionId: '--dangerously-skip-permissions' });
    start();
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringMatching(
        /^the job cannot start: sessionId "--dangerously-skip-permissions" starts with "-" and would be read as a flag/,
      ),
    });
    expect(await e2e.server.events(job.jobId)).toEqual([]);
  });

  it('should fail a job whose extra directory the policy refuses, naming it, and start no agent', async () => {
    const job = await e2e.server.enqueue({ mode: 'args' }, { addDirs: [DIR_A, '/'] });
    start();
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({
      status: 'failed',
      errorMessage:
        'addDirs[1] "/" is the root of the filesystem, so the job was not started; ' + "the runner's owner can allow it with --allow-dir=/",
    });
    expect(await e2e.server.events(job.jobId)).toEqual([]);
  });

  it('should fail a job whose adapter type this runner does not know', async () => {
    const job = await e2e.server.enqueue({ mode: 'stream' }, { adapterType: 'quantum_agent' });
    start();
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringContaining('adapter type "quantum_agent" is not supported'),
    });
  });

  it('should fail a job whose claimed payload is malformed, naming the bad fields', async () => {
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path.endsWith('/claim')
        ? {
            rewrite: (status, body) => ({
              status,
              body: JSON.stringify({ ...JSON.parse(body), prompt: 42, runtimeConfig: { maxTurns: -1 } }),
            }),
          }
        : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'stream' });
      start([], {}, proxy.url);
      const done = await e2e.server.waitForJob(job.jobId);
      expect(done.status).toBe('failed');
      expect(done.errorMessage).toContain('prompt must be a string (got 42)');
      expect(done.errorMessage).toContain('runtimeConfig.maxTurns must be a positive integer (got -1)');
    } finally {
      await proxy.close();
    }
  });

  it('should retry event batches through server errors without losing or duplicating a line', async () => {
    let failures = 0;
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path.endsWith('/events') && failures++ % 2 === 0 ? { respond: { status: 503, body: '{"error":"internal_error"}' } } : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 300 });
      start([], {}, proxy.url);
      expect((await e2e.server.waitForJob(job.jobId, undefined, 30_000)).status).toBe('completed');
      const events = await e2e.server.events(job.jobId);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 304 }, (_, index) => index));
      expect(proxy.recorded.filter((request) => request.status === 503).length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });

  it('should stop the agent and report it cancelled when the job is cancelled on the server', async () => {
    const job = await e2e.server.enqueue({ mode: 'hang' });
    start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    const pids = agentProcesses(job.jobId);
    await e2e.server.admin.cancelJob(job.jobId);
    await e2e.runner!.waitForLog(/job cancelled/);
    await until(
      () => !pids.some(isAlive) && processesOfJob(job.jobId).length === 0,
      3_000,
      () => 'agent survived the cancel',
    );
    expect((await e2e.server.admin.getJob(job.jobId)).status).toBe('cancelled');
  });

  it('should exit 3 naming the token preview when the server rejects the token', async () => {
    const { token, info } = await e2e.server.admin.createToken({ companyId: 'acme', name: 'soon revoked' });
    await e2e.server.admin.revokeToken(info.tokenId);
    start([], { FOUNDEROS_RUNNER_TOKEN: token });
    const { code } = await e2e.runner!.exit;
    expect(code).toBe(3);
    expect(e2e.runner!.stderr).toContain(`token ${token.slice(0, 8)}… was rejected`);
    expect(e2e.runner!.stderr).not.toContain(token);
  });
});

describe('founderos-runner command line', () => {
  it('should print its version and help', async () => {
    const version = new RunnerProcess(['--version']);
    expect((await version.exit).code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = new RunnerProcess(['--help']);
    expect((await help.exit).code).toBe(0);
    expect(help.stdout).toContain('--server-url');
  });

  it.each([
    [['start', '--server-url=https://x.example.com'], 'config error: FOUNDEROS_RUNNER_TOKEN is required'],
    [['start', '--token', '--server-url=https://x.example.com'], 'unknown or malformed flag(s): --token'],
    [['start', `--token=fos_${'x'.repeat(32)}`, '--server-url=http://example.com'], 'clear text'],
    [['start', '--token=fos_short', '--server-url=https://x.example.com'], 'must match fos_<32 alphanumeric>'],
    [['launch'], 'unknown command "launch"'],
  ])('should refuse %j with exit code 2', async (args, message) => {
    const cli = new RunnerProcess(args);
    expect((await cli.exit).code).toBe(2);
    expect(cli.stderr).toContain(message);
  });
});

describe('founderos-runner start: concurrency, --once and metrics (end to end)', () => {
  const e2e = serverAndRunners();

  it('should run four jobs at once with --concurrency 4, each delivered completely and separately', async () => {
    const jobs = await Promise.all([0, 1, 2, 3].map(() => e2e.server.enqueue({ mode: 'stream', lines: 100, delayMs: 10 })));
    const metricsUrl = `http://127.0.0.1:${await freePort()}`;
    e2e.start(['--concurrency', '4', `--metrics-port=${new URL(metricsUrl).port}`]);
    // all four are streaming at the same moment
    await until(
      async () => (await Promise.all(jobs.map((job) => e2e.server.admin.getJob(job.jobId)))).every((job) => job.status === 'streaming'),
      10_000,
      () => 'the four jobs never ran together',
    );
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).toContain('founderos_runner_running_jobs 4');
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
    for (const job of jobs) {
      expect((await e2e.server.waitForJob(job.jobId)).status).toBe('completed');
      const events = await e2e.server.events(job.jobId);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 104 }, (_, index) => index));
      expect(new Set(events.map((event) => event.eventId)).size).toBe(104);
    }
    expect(await (await fetch(`${metricsUrl}/metrics`)).text()).toContain('founderos_runner_jobs_total{outcome="completed"} 4');
  });

  it('should exit 0 after one job with --once, leaving the next job queued', async () => {
    const first = await e2e.server.enqueue({ mode: 'stream', lines: 5 });
    const second = await e2e.server.enqueue({ mode: 'stream', lines: 5 });
    const runner = e2e.start(['--once']);
    expect((await runner.exit).code).toBe(0);
    // The server may offer either (it spreads offers across pollers): exactly one ran, the other waits.
    const statuses = await Promise.all([first, second].map(async (job) => (await e2e.server.admin.getJob(job.jobId)).status));
    expect(statuses.sort()).toEqual(['completed', 'queued']);
    for (const job of [first, second])
      if ((await e2e.server.admin.getJob(job.jobId)).status === 'queued') await e2e.server.admin.cancelJob(job.jobId);
  });
});

describe('founderos-runner start: an unusable spool directory', () => {
  it('should exit 2 naming the directory and the fix, before taking any job', async () => {
    const cli = new RunnerProcess(['start', '--server-url=http://127.0.0.1:9', `--token=fos_${'s'.repeat(32)}`], {
      FOUNDEROS_RUNNER_SPOOL_DIR: '/dev/null/spool',
    });
    expect((await cli.exit).code).toBe(2);
    expect(cli.stderr).toContain('cannot use the spool directory /dev/null/spool');
    expect(cli.stderr).toContain('--spool-dir=PATH');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'should refuse, exit 2, a spool directory another user owns, saying whose and what to do',
    async () => {
      const shared = mkdtempSync(join(tmpdir(), 'founderos-shared-spool-'));
      chmodSync(shared, 0o777);
      chownSync(shared, 65534, 65534);
      const cli = new RunnerProcess(['start', '--server-url=http://127.0.0.1:9', `--token=fos_${'s'.repeat(32)}`], {
        FOUNDEROS_RUNNER_SPOOL_DIR: shared,
      });
      expect((await cli.exit).code).toBe(2);
      expect(cli.stderr).toContain(`spool directory ${shared} belongs to uid 65534, not to you (uid 0)`);
      expect(cli.stderr).toMatch(/use a directory of your own \(--spool-dir=PATH\), or take this one over: sudo chown/);
      // Left as it was found: nothing written, its mode not changed for its owner.
      expect(statSync(shared).mode & 0o777).toBe(0o777);
      expect(readdirSync(shared)).toEqual([]);
    },
  );
});
