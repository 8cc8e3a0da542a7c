import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctorCommand, processDoctorDeps, type DoctorDeps, type DoctorReport } from '../../src/cli/doctor.js';
import { pauseFilePath, writePauses } from '../../src/streams/pause-file.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FAKE_CLAUDE } from '../support/runner-process.js';

const UNKNOWN_TOKEN = `fos_${'Zz09'.repeat(8)}`;

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('founderos-runner doctor', () => {
  let server: TestControlPlane;
  let dir: string;

  beforeAll(async () => {
    server = await startTestControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'founderos-doctor-'));
    // An empty PATH: whatever agent CLIs this machine has, none is found unless a test names its binary.
    mkdirSync(join(dir, 'empty-path'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deps = (overrides: Partial<DoctorDeps> = {}): DoctorDeps => {
    const env = { PATH: join(dir, 'empty-path'), XDG_STATE_HOME: join(dir, 'state') };
    return { ...processDoctorDeps(env), location: { cwd: dir, home: join(dir, 'home'), env }, ...overrides };
  };
  const doctor = async (argv: string[], overrides: Partial<DoctorDeps> = {}) => {
    let output = '';
    const code = await doctorCommand(['--json', ...argv], deps(overrides), {
      stdout: (text) => (output += text),
      stderr: (text) => (output += text),
    });
    const report = JSON.parse(output) as DoctorReport;
    const check = (name: string) => report.checks.find((candidate) => candidate.name === name)!;
    return { code, report, check, output };
  };
  const good = () => [`--server-url=${server.url}`, `--token=${server.token}`, `--claude-bin=${FAKE_CLAUDE}`];

  it('should pass a good setup against the real control plane, without claiming its queued job', async () => {
    const job = await server.enqueue({ mode: 'stream', lines: 1 });
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${server.token}\n`, { mode: 0o600 });
    const { code, report, check, output } = await doctor([
      `--server-url=${server.url}`,
      `--token-file=${tokenFile}`,
      `--claude-bin=${FAKE_CLAUDE}`,
    ]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(check('node')).toMatchObject({ status: 'ok' });
    expect(check('config')).toMatchObject({ status: 'ok', detail: expect.stringContaining(`token ${server.token.slice(0, 8)}…`) });
    expect(check('agent claude')).toEqual({ name: 'agent claude', status: 'ok', detail: `${FAKE_CLAUDE}: 9.9.9 (Fake Claude)` });
    expect(check('server')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/answered \(HTTP 200\) in \d+ ms/) });
    expect(check('token')).toMatchObject({ status: 'ok', detail: `${server.token.slice(0, 8)}… accepted by the server` });
    expect(check('spool dir')).toMatchObject({ status: 'ok', detail: `${join(dir, 'state', 'founderos-runner', 'spool')} is writable` });
    expect(check('clock')).toMatchObject({ status: 'ok' });
    // Optional CLIs that are missing only warn.
    expect(check('agent codex')).toMatchObject({ status: 'warn', fix: expect.stringContaining('npm install -g @openai/codex') });
    expect(output).not.toContain(server.token);
    expect((await server.admin.getJob(job.jobId)).status).toBe('queued');
    await server.admin.cancelJob(job.jobId);
  });

  it('should fail a missing claude, or a missing CLI the user configured, with the install hint', async () => {
    const { code, check } = await doctor([
      `--server-url=${server.url}`,
      `--token=${server.token}`,
      '--claude-bin=/nowhere/claude',
      '--codex-bin=/nowhere/codex',
    ]);
    expect(code).toBe(1);
    expect(check('agent claude')).toEqual({
      name: 'agent claude',
      status: 'fail',
      detail: '/nowhere/claude --version did not answer (not installed, not on PATH, or failing) (set by flag)',
      fix: 'install Claude Code (npm install -g @anthropic-ai/claude-code) or pass --claude-bin=/full/path/to/claude',
    });
    expect(check('agent codex')).toMatchObject({ status: 'fail', fix: expect.stringContaining('--codex-bin=') });
    expect(check('agent gemini').status).toBe('warn');
  });

  it('should fail the default claude when it is not on PATH', async () => {
    const { check } = await doctor([`--server-url=${server.url}`, `--token=${server.token}`]);
    expect(check('agent claude')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^claude --version did not answer/) });
  });

  it('should warn that a token given with --token is visible to every local user, and say what to use instead', async () => {
    const { code, check } = await doctor(good());
    expect(code).toBe(0);
    expect(check('config')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('was given as --token on the command line, where every user of this machine can read it'),
      fix: 'set FOUNDEROS_RUNNER_TOKEN, or pass --token-file=PATH, instead of --token',
    });
  });

  it('should fail a token the server rejects (401), showing its preview only', async () => {
    const { code, check, output } = await doctor([`--server-url=${server.url}`, `--token=${UNKNOWN_TOKEN}`, `--claude-bin=${FAKE_CLAUDE}`]);
    expect(code).toBe(1);
    expect(check('server').status).toBe('ok');
    expect(check('token')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^fos_Zz09… was rejected \(401 invalid_runner_token, requestId \S+\)$/),
      fix: expect.stringContaining('issue a new one in the dashboard'),
    });
    expect(output).not.toContain(UNKNOWN_TOKEN);
  });

  it('should fail an unreachable server (connection refused) and skip what depends on it', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, check } = await doctor([`--server-url=${url}`, `--token=${server.token}`, `--claude-bin=${FAKE_CLAUDE}`]);
    expect(code).toBe(1);
    expect(check('server')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`${url} did not answer: connect ECONNREFUSED`),
      fix: expect.stringContaining('--server-url'),
    });
    expect(check('token')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not checked') });
    expect(check('clock')).toMatchObject({ status: 'warn', detail: 'not checked: the server did not answer' });
  });

  it("should warn when this machine's clock is more than 60 s off the server's Date", async () => {
    const { check, code } = await doctor(good(), { now: () => Date.now() + 120_000 });
    expect(check('clock')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^this machine's clock is 1[12]\d s ahead of the server's$/),
      fix: expect.stringContaining('timedatectl'),
    });
    expect(code).toBe(0);
  });

  it('should fail on a missing token or URL and still check the rest', async () => {
    const { code, check } = await doctor([`--claude-bin=${FAKE_CLAUDE}`]);
    expect(code).toBe(1);
    expect(check('config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('FOUNDEROS_RUNNER_TOKEN is required') });
    expect(check('server')).toMatchObject({ status: 'warn', detail: 'not checked: no valid server URL (see config)' });
    expect(check('agent claude').status).toBe('ok');
    expect(check('spool dir').status).toBe('ok');
  });

  it('should fail a spool dir it cannot write, naming --spool-dir', async () => {
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o500 });
    chmodSync(readOnly, 0o500);
    const { check } = await doctor([...good(), `--spool-dir=${join(readOnly, 'spool')}`]);
    // root ignores permissions: then the directory simply works.
    if (process.getuid?.() === 0) expect(check('spool dir').status).toBe('ok');
    else
      expect(check('spool dir')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('EACCES'),
        fix: expect.stringContaining('--spool-dir'),
      });
  });

  it('should warn while the runner has an agent CLI paused by a usage limit, saying until when and why', async () => {
    const spool = join(dir, 'paused-spool');
    mkdirSync(spool, { recursive: true });
    const now = Date.UTC(2026, 11, 7, 11, 48);
    // What the CLI printed, with a terminal escape in it: doctor shows it escaped.
    const reason = "usage limit reached (resets at 2026-12-07T15:00:00.000Z): You've hit your 5-hour limit\u001b[2J";
    writePauses(pauseFilePath(spool), {
      claude: { until: '2026-12-07T15:00:00.000Z', since: '2026-12-07T11:40:00.000Z', reason },
      gemini: { until: '2026-12-07T11:00:00.000Z', since: '2026-12-07T10:59:00.000Z', reason: 'over' },
    });
    const { code, check } = await doctor([...good(), `--spool-dir=${spool}`], { now: () => now });
    expect(code).toBe(0);
    expect(check('usage limits')).toEqual({
      name: 'usage limits',
      status: 'warn',
      detail: `claude paused until 2026-12-07T15:00:00.000Z (in 3 h 12 min), since 2026-12-07T11:40:00.000Z: ${reason.replace('\u001b', '\\u001b')}`,
      fix: expect.stringContaining(`delete ${pauseFilePath(spool)}`),
    });
    // A pause that has ended is no warning.
    const later = await doctor([...good(), `--spool-dir=${spool}`], { now: () => Date.UTC(2026, 11, 7, 16) });
    expect(later.check('usage limits')).toMatchObject({ status: 'ok', detail: 'no agent CLI is paused by a usage limit' });
  });

  it('should read the config file like start, and warn when it exposes the token', async () => {
    const path = join(dir, 'doctor-config.json');
    writeFileSync(path, JSON.stringify({ 'server-url': server.url, token: server.token, 'claude-bin': FAKE_CLAUDE }), { mode: 0o644 });
    chmodSync(path, 0o644);
    const { code, check } = await doctor([`--config=${path}`]);
    expect(code).toBe(0);
    expect(check('config')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining(`config file ${path}`),
      fix: 'make the config file readable only by you',
    });
    expect(check('token').status).toBe('ok');
  });

  it('should print a checklist, one line per check, with a fix for each failure', async () => {
    let output = '';
    const code = await doctorCommand([`--server-url=${server.url}`, `--token=${UNKNOWN_TOKEN}`, `--claude-bin=${FAKE_CLAUDE}`], deps(), {
      stdout: (text) => (output += text),
      stderr: (text) => (output += text),
    });
    expect(code).toBe(1);
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^founderos-runner v\S+ doctor$/);
    expect(lines).toContainEqual(expect.stringMatching(/^✓ node {2,}Node\.js v/));
    expect(lines).toContainEqual(expect.stringMatching(/^✗ token {2,}fos_Zz09… was rejected .* → fix: the token is revoked/));
    expect(lines).toContainEqual(expect.stringMatching(/^! agent codex {2,}codex --version did not answer/));
    // the token on the command line is one of the warnings
    expect(lines).toContainEqual(expect.stringMatching(/^! config {2,}.* was given as --token on the command line/));
    // PATH holds no bwrap here: the agents would run unsandboxed, and the doctor says how to install it
    expect(lines).toContainEqual(
      expect.stringMatching(/^! sandbox {2,}off: bwrap \(bubblewrap\) is not installed.* → fix: install bubblewrap/),
    );
    expect(lines.at(-1)).toBe('1 check(s) failed, 7 warning(s): fix the ✗ lines, then run founderos-runner doctor again');
    expect(output).not.toContain(UNKNOWN_TOKEN);
  });
});
