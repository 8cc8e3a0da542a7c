import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentsText, quotaExhausted, startFakeGemini } from './fake-gemini.js';
import { REAL_CLIS, UUID, realCliSuite, stderrLines, stdoutKinds, stdoutObjects, stdoutTypes, usageLimitReset } from './support.js';
import { base64 } from '../support/control-plane.js';

const MODEL = 'gemini-2.5-flash';

/**
 * Gemini offline: `GOOGLE_GEMINI_BASE_URL` points the API-key client at the fake, and settings.json picks that client
 * (`security.auth.selectedType`: with only the URL set, 0.61.0 selects its "gateway" auth, which headless mode refuses
 * as "Invalid auth method selected."). A concrete model keeps the "auto" model's router from spending a call on
 * classifying the prompt; one attempt per call (`general.maxAttempts`) keeps a 500 from being retried for minutes;
 * no update check or usage statistics.
 */
function geminiSettings(): unknown {
  return {
    security: { auth: { selectedType: 'gemini-api-key' } },
    model: { name: MODEL },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: 1 },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
  };
}

/**
 * The real Gemini CLI as the agent of the real runner, against the real control plane, offline: its model API is
 * test/real-clis/fake-gemini.ts on loopback. Headless, 0.61.0 runs only in a trusted folder (else it exits 55), so
 * the workspace is trusted in ~/.gemini/trustedFolders.json, as a user would trust it; with the default approval
 * mode it runs read-only tools (read_file, list_directory …) and offers the model no tool that needs a confirmation.
 */
describe.skipIf(!REAL_CLIS)('the real Gemini CLI, driven by the runner, against a fake Gemini API', () => {
  let trustFile = '';
  const gemini = realCliSuite({
    cli: 'gemini',
    agentName: 'Gemini',
    adapterType: 'gemini_local',
    startApi: startFakeGemini,
    conversationOf: contentsText,
    setup: (sandbox, api) => {
      const geminiDir = join(sandbox.home, '.gemini');
      mkdirSync(geminiDir);
      writeFileSync(join(geminiDir, 'settings.json'), JSON.stringify(geminiSettings()));
      trustFile = join(geminiDir, 'trustedFolders.json');
      writeFileSync(trustFile, JSON.stringify({ [sandbox.workspace]: 'TRUST_FOLDER' }));
      // TMPDIR: the CLI writes a report of every API error to the temporary folder; keep them in the sandbox.
      mkdirSync(join(sandbox.root, 'tmp'));
      return { GOOGLE_GEMINI_BASE_URL: api.url, GEMINI_API_KEY: 'offline-test-key-not-a-secret', TMPDIR: join(sandbox.root, 'tmp') };
    },
  });

  it('should complete a plain answer with the session id and version', async () => {
    gemini.api.script([{ text: 'Hello from the fake Gemini API.' }]);
    const { job, events } = await gemini.run('Say hello.');
    expect(job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      costMicros: null,
      resultSessionId: expect.stringMatching(UUID),
      cliVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      errorMessage: null,
    });
    expect(stdoutObjects(events)[0]).toMatchObject({ type: 'init', session_id: job.resultSessionId, model: MODEL });
    expect(stdoutTypes(events)).toEqual(['init', 'message', 'message', 'message', 'result']);
    expect(stdoutKinds(events)).toEqual(['model_message', 'model_message', 'model_message', 'model_message', 'run_complete']);
    const answer = stdoutObjects(events)
      .filter((line) => line.role === 'assistant')
      .map((line) => line.content);
    expect(answer.join('')).toBe('Hello from the fake Gemini API.');
    expect(stdoutObjects(events).at(-1)).toMatchObject({ status: 'success' });
    // One call, to the model of the settings, with the prompt (from stdin) and the key.
    expect(gemini.api.requests).toHaveLength(1);
    expect(gemini.api.requests[0]).toMatchObject({ model: MODEL, method: 'streamGenerateContent' });
    expect(contentsText(gemini.api.requests[0]!)).toContain('Say hello.');
    expect(gemini.api.requests[0]!.headers['x-goog-api-key']).toBe('offline-test-key-not-a-secret');
    gemini.record('plain', job.jobId);
  });

  it('should run a read-only tool the model asked for and send its output back: tool call and tool result events', async () => {
    writeFileSync(join(gemini.sandbox.workspace, 'notes.txt'), 'the answer is 42\n');
    gemini.api.script([{ functionCall: { name: 'read_file', args: { file_path: 'notes.txt' } } }, { text: 'It says 42.' }]);
    const { job, events } = await gemini.run('What is in notes.txt?');
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    const call = events.find((event) => event.kind === 'tool_call');
    const result = events.find((event) => event.kind === 'tool_result');
    expect(call?.payload).toMatchObject({ type: 'tool_use', tool_name: 'read_file', parameters: { file_path: 'notes.txt' } });
    expect(result?.payload).toMatchObject({
      type: 'tool_result',
      tool_id: (call!.payload as { tool_id: string }).tool_id,
      status: 'success',
    });
    expect(call!.seq!).toBeLessThan(result!.seq!);
    expect(stdoutKinds(events).at(-1)).toBe('run_complete');
    // The CLI called the model again with the file's real contents as the function's response.
    expect(gemini.api.requests).toHaveLength(2);
    expect(contentsText(gemini.api.requests[1]!)).toMatch(/"functionResponse".*the answer is 42/);
    gemini.record('tool-use', job.jobId);
    rmSync(join(gemini.sandbox.workspace, 'notes.txt'));
  });

  it('should accept the flags the adapter passes (model, extra directory) and get the instructions ahead of the prompt', async () => {
    const extra = join(gemini.sandbox.root, 'extra-dir');
    mkdirSync(extra, { recursive: true });
    gemini.api.script([{ text: 'Done.' }]);
    const { job } = await gemini.run('Say done.', {
      model: 'gemini-2.5-pro',
      addDirs: [extra],
      instructionsFileContent: base64('Answer tersely. Codeword: PAPAYA-7.'),
    });
    expect(job).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(gemini.api.requests[0]!.model).toBe('gemini-2.5-pro');
    expect(contentsText(gemini.api.requests[0]!)).toContain(extra);
    expect(contentsText(gemini.api.requests[0]!)).toContain(
      JSON.stringify('Answer tersely. Codeword: PAPAYA-7.\n\nSay done.').slice(1, -1),
    );
  });

  it('should resume the previous session: same session id, and the model sees the earlier conversation', async () => {
    const { first, second } = await gemini.resumeConversation();
    expect(stdoutObjects(second.events)[0]).toMatchObject({ type: 'init', session_id: first.job.resultSessionId });
    gemini.record('resume', second.job.jobId);
  });

  it('should start a fresh session when the session to resume is unknown', async () => {
    const unknown = randomUUID();
    const { job, events } = await gemini.resumeUnknown(unknown);
    // The failed resume prints no JSON: only lines on stderr, and exit code 42.
    const failure = stderrLines(events).find((line) => line.startsWith('Error resuming session'));
    expect(failure).toBe(`Error resuming session: Invalid session identifier "${unknown}".`);
    expect(gemini.runner.stderr).toContain('the agent does not know the session to resume');
    expect(
      stdoutObjects(
        events.slice(
          0,
          events.findIndex((event) => event.payload === failure),
        ),
      ),
    ).toEqual([]);
    gemini.record('unknown-session', job.jobId, { run: 1, withStderr: true });
  });

  it('should fail on a rejected API key (401) with the CLI’s message', async () => {
    gemini.api.script([{ error: { status: 401, code: 'UNAUTHENTICATED', message: 'API key not valid. Please pass a valid API key.' } }]);
    const { job } = await gemini.run('Say hello.');
    // The CLI's verdict is a `result` of status "error" carrying the API's answer; it exits with the HTTP status,
    // which the system cuts to its low 8 bits (401 → 145).
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 401 % 256,
      resultSessionId: expect.stringMatching(UUID),
      errorMessage:
        '[API Error: {"error":{"code":401,"message":"API key not valid. Please pass a valid API key.","status":"UNAUTHENTICATED"}}]',
    });
    expect(gemini.api.requests).toHaveLength(1);
    gemini.record('auth-failure', job.jobId, { withStderr: true });
  });

  it('should end a job on a per-minute quota (429 RESOURCE_EXHAUSTED) as a usage limit, at the retry delay the CLI suggests', async () => {
    gemini.api.script([quotaExhausted({ retryDelaySec: 37 })]);
    const before = Date.now();
    const { job, exitCode } = await gemini.runToUsageLimit('Say hello.');
    // "Suggested retry after 37s.": read when the run ended, so between the job's start and its end, plus 37 s.
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage: expect.stringMatching(/^usage limit reached \(resets at \S+\): \[API Error: You exceeded your current quota, /),
    });
    expect(exitCode).toBe(429 % 256);
    expect(job.errorMessage).toContain('Suggested retry after 37s.]\nPlease wait and try again later.');
    expect(usageLimitReset(job)).toBeGreaterThanOrEqual(before + 37_000);
    expect(usageLimitReset(job)).toBeLessThanOrEqual(Date.parse(job.usageLimitedAt!) + 37_000);
    expect(gemini.api.requests).toHaveLength(1);
    gemini.record('rate-limit', job.jobId, { withStderr: true });
  });

  it('should end a job on a spent daily quota as a usage limit; the CLI states no reset for it', async () => {
    gemini.api.script([quotaExhausted({ perDay: true })]);
    const { job, exitCode } = await gemini.runToUsageLimit('Say hello.');
    expect(job).toMatchObject({
      status: 'queued',
      usageLimitCount: 1,
      errorMessage:
        'usage limit reached (the CLI gave no reset time): [API Error: You have exhausted your daily quota on this model.]\n' +
        'Please wait and try again later. To increase your limits, request a quota increase through AI Studio, or switch to another /auth method',
    });
    expect(exitCode).toBe(429 % 256);
    gemini.record('daily-quota', job.jobId, { withStderr: true });
  });

  it('should fail on a server error (500) with the CLI’s message, after one attempt', async () => {
    gemini.api.script([{ error: { status: 500, code: 'INTERNAL', message: 'An internal error has occurred.' } }]);
    const { job } = await gemini.run('Say hello.');
    expect(job).toMatchObject({
      status: 'failed',
      exitCode: 500 % 256,
      errorMessage: '[API Error: {"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}]',
    });
    expect(gemini.api.requests).toHaveLength(1);
    gemini.record('api-error', job.jobId, { withStderr: true });
  });

  it('should fail in a folder the user has not trusted, with the CLI’s advice', async () => {
    rmSync(trustFile);
    try {
      const { job } = await gemini.run('Say hello.');
      expect(job).toMatchObject({
        status: 'failed',
        exitCode: 55,
        errorMessage: expect.stringContaining('Gemini CLI is not running in a trusted directory'),
      });
      expect(gemini.api.requests).toEqual([]);
    } finally {
      writeFileSync(trustFile, JSON.stringify({ [gemini.sandbox.workspace]: 'TRUST_FOLDER' }));
    }
  });
});
