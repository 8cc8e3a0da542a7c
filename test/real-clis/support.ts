import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type { EnqueueJobInput, JobDetail, StoredEvent } from '../../src/control-plane/index.js';
import { COMPANY, TERMINAL, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { pauseFilePath } from '../../src/streams/pause-file.js';
import { FAST_TIMINGS, RUNNER_BIN, until } from '../support/runner-process.js';

/**
 * Shared by the real-CLI specs: where the installed CLIs are, a throw-away home and workspace per CLI, the built
 * runner started in that workspace with an environment made from scratch (nothing of the developer's own
 * credentials, config or CLI settings can leak in), and the recording of real streams as fixtures.
 */

/** Set by vitest.real-clis.config.ts: under plain `npm test` these specs are skipped. */
export const REAL_CLIS = process.env.FOUNDEROS_REAL_CLIS === '1';

/** The agents run in the runner's sandbox, unless `FOUNDEROS_REAL_CLIS_SANDBOX=off` (to compare, or where there is none). */
const SANDBOXED = process.env.FOUNDEROS_REAL_CLIS_SANDBOX !== 'off';

/** `FOUNDEROS_RECORD_FIXTURES=1 npm run test:real-clis` rewrites test/fixtures/<cli>/recorded-*.jsonl from the runs. */
const RECORD = process.env.FOUNDEROS_RECORD_FIXTURES === '1';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const CLIS_DIR = process.env.FOUNDEROS_AGENT_CLIS_DIR || join(homedir(), '.cache', 'founderos-runner', 'agent-clis');

/** The CLIs scripts/install-agent-clis.sh installs; each is also the name of its binary and of its runner flag (`--<cli>-bin`). */
export type CliName = 'claude' | 'codex' | 'gemini' | 'opencode' | 'pi';

/** The installed binary of a CLI (scripts/install-agent-clis.sh puts them there), or a throw saying how to get it. */
export function installedCli(name: CliName): string {
  const bin = join(CLIS_DIR, 'node_modules', '.bin', name);
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is not installed: run \`bash scripts/install-agent-clis.sh\` first (FOUNDEROS_AGENT_CLIS_DIR picks another folder)`,
    );
  }
  return bin;
}

export interface Sandbox {
  /** A temporary folder holding the others; removed by `remove`. */
  root: string;
  /** The agent's HOME (its CLI config lives under it). */
  home: string;
  /** The runner's workspaces' root (`--work-dir`). */
  workDir: string;
  /** The agent's working directory: its workspace under `workDir`, which the runner makes for the jobs' agent id. */
  workspace: string;
  /** The jobs' agent id. */
  agentId: string;
  remove(): void;
}

/**
 * Where the specs' sandboxes are made: beside the installed CLIs, not in the system's temporary folder. Codex refuses to
 * put its sandbox helper (`codex-linux-sandbox`, which its own bubblewrap sandbox runs) under the temporary folder, and
 * without it every command fails wherever bubblewrap is installed; and the runner's sandbox gives each job a private /tmp.
 */
const SANDBOXES_DIR = join(dirname(CLIS_DIR), 'real-cli-runs');

export function makeSandbox(name: string): Sandbox {
  mkdirSync(SANDBOXES_DIR, { recursive: true });
  // realpath: macOS's tmpdir is a symlink, and the CLIs print resolved paths.
  const root = realpathSync(mkdtempSync(join(SANDBOXES_DIR, `fos-real-${name}-`)));
  const home = join(root, 'home');
  const workDir = join(root, 'work');
  const agentId = `real-${name}`;
  const workspace = join(workDir, agentId);
  mkdirSync(home);
  mkdirSync(workspace, { recursive: true, mode: 0o700 });
  return { root, home, workDir, workspace, agentId, remove: () => rmSync(root, { recursive: true, force: true }) };
}

const spoolDir = (sandbox: Sandbox) => join(sandbox.root, 'spool');

/** The runner's log line for the end of job `jobId`: `[info ] job failed {"jobId": …, "exitCode": 1, …}`. */
const jobEndLine = (jobId: string) => new RegExp(`\\] job (?:completed|failed|cancelled) (\\{"jobId":"${jobId}".*)`);

/**
 * The built runner as a child process, with only the environment given here: PATH, the sandbox's HOME, the CLI's own
 * variables, and the runner's sandbox on (`FOUNDEROS_REAL_CLIS_SANDBOX=off` runs the agents without it). The runner
 * runs each job in the agent's workspace under `--work-dir`.
 */
export class RealRunner {
  readonly child: ChildProcess;
  stderr = '';
  readonly exit: Promise<unknown>;

  constructor(serverUrl: string, token: string, sandbox: Sandbox, args: readonly string[], env: Record<string, string>) {
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: sandbox.home,
      USER: process.env.USER ?? 'agent',
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      FOUNDEROS_RUNNER_TOKEN: token,
      FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir(sandbox),
      FOUNDEROS_RUNNER_WORK_DIR: sandbox.workDir,
      FOUNDEROS_RUNNER_SANDBOX: SANDBOXED ? 'on' : 'off',
      ...FAST_TIMINGS,
    };
    this.child = spawn(process.execPath, [RUNNER_BIN, 'start', `--server-url=${serverUrl}`, '--log-level=debug', ...args], {
      cwd: sandbox.root,
      env: { ...base, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.exit = new Promise((resolve) => this.child.on('exit', resolve));
  }

  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    await until(
      () => pattern.test(this.stderr),
      timeoutMs,
      () => `runner never logged ${pattern}; it logged:\n${this.stderr}`,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await Promise.race([this.exit, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exit;
  }
}

/** What a fake model API (fake-anthropic.ts, fake-openai.ts, fake-gemini.ts) offers every spec. */
interface FakeModelApi {
  url: string;
  script(replies: { text: string }[]): void;
  readonly requests: unknown[];
  readonly unknownRoutes: string[];
  reset(): void;
  close(): Promise<void>;
}

/** A job's end, as the control plane stored it. */
export interface FinishedJob {
  job: JobDetail;
  events: StoredEvent[];
}

/** A job that hit a usage limit, back in the queue (`runToUsageLimit`). */
export interface LimitedJob extends FinishedJob {
  /** The agent's exit code, as the runner reported the attempt (a requeued job keeps none). */
  exitCode: number | null;
}

/** A real-CLI spec's world, filled in by the hooks `realCliSuite` registers (before the first test). */
export interface RealCliSuite<Api> {
  server: TestControlPlane;
  api: Api;
  sandbox: Sandbox;
  runner: RealRunner;
  /** Queues a job for the CLI, waits (90 s at the most) for its end, and returns it with its stored events. */
  run(prompt: string, extra?: Partial<EnqueueJobInput>): Promise<FinishedJob>;
  /**
   * Queues a job whose CLI will hit a usage limit and waits (90 s at the most) until the runner has reported it: the
   * reference control plane then puts the job back in the queue (so it is `queued`, its `usageLimitCount` 1) and the
   * runner takes no job of that CLI until the reset. Returns the job, its stored events and the exit code the runner
   * reported, after cancelling the job and restarting the runner without the pause, so that the next test's job runs.
   */
  runToUsageLimit(prompt: string): Promise<LimitedJob>;
  /** `record` for this CLI and sandbox. */
  record(scenario: string, jobId: string, options?: { run?: number; withStderr?: boolean }): void;
  /**
   * A job tells the model a word, then a second job, resuming its session, asks for it. Checks that both complete,
   * the second in the first's session, and that the model was sent the whole conversation on the second run.
   */
  resumeConversation(): Promise<{ first: FinishedJob; second: FinishedJob }>;
  /** A job resuming `sessionId`, unknown to the CLI. Checks that it completes in a fresh session, its events in order. */
  resumeUnknown(sessionId: string): Promise<FinishedJob>;
}

/**
 * Registers, in the calling `describe`, the hooks every real-CLI spec needs: before all, the control plane, the fake
 * model API and a sandbox, then the runner with the installed CLI (`--<cli>-bin`) and the environment `setup` returns
 * (after preparing the CLI's config in the sandbox); the API reset before each test; after each, the runner's output
 * when the test failed, and no request to a route the fake does not implement; all stopped and removed after all.
 */
export function realCliSuite<Api extends FakeModelApi>(options: {
  cli: CliName;
  /** The form of the CLI's session ids (UUID when not given). */
  sessionId?: RegExp;
  /** The jobs' agent name and adapter type. */
  agentName: string;
  adapterType: string;
  startApi(): Promise<Api>;
  setup(sandbox: Sandbox, api: Api): Record<string, string>;
  /** The conversation a request to the model carried (`conversationText`, `inputText`, `contentsText`, `messagesText`). */
  conversationOf(request: Api['requests'][number]): string;
}): RealCliSuite<Api> {
  const suite = {} as RealCliSuite<Api>;
  const enqueue = (prompt: string, extra: Partial<EnqueueJobInput> = {}) =>
    suite.server.admin.enqueueJob({
      companyId: COMPANY,
      agentId: suite.sandbox.agentId,
      agentName: options.agentName,
      prompt,
      adapterType: options.adapterType,
      ...extra,
    });
  suite.run = async (prompt, extra = {}) => {
    const queued = await enqueue(prompt, extra);
    const job = await suite.server.waitForJob(queued.jobId, undefined, 90_000);
    return { job, events: await suite.server.events(queued.jobId) };
  };
  suite.runToUsageLimit = async (prompt) => {
    const queued = await enqueue(prompt);
    let job = await suite.server.admin.getJob(queued.jobId);
    await until(
      async () => (job = await suite.server.admin.getJob(queued.jobId)).usageLimitCount > 0 || TERMINAL.includes(job.status),
      90_000,
      () => `job ${queued.jobId} is ${job.status} and hit no usage limit`,
    );
    await suite.runner.waitForLog(new RegExp(`${options.cli} hit a usage limit: taking no ${options.cli} jobs until`));
    const events = await suite.server.events(queued.jobId);
    // The runner logs the job's end once the server has its completion: after the requeue a test can see.
    await suite.runner.waitForLog(jobEndLine(queued.jobId));
    const { exitCode } = JSON.parse(jobEndLine(queued.jobId).exec(suite.runner.stderr)![1]!) as { exitCode: number | null };
    await suite.server.admin.cancelJob(queued.jobId);
    await suite.runner.stop();
    rmSync(pauseFilePath(spoolDir(suite.sandbox)), { force: true });
    await startRunner();
    return { job, events, exitCode };
  };
  suite.record = (scenario, jobId, recordOptions) => record(options.cli, scenario, suite.sandbox, jobId, recordOptions);
  suite.resumeConversation = async () => {
    suite.api.script([{ text: 'I will remember the word banana.' }]);
    const first = await suite.run('Remember the word banana.');
    expect(first.job.status).toBe('completed');

    suite.api.reset();
    suite.api.script([{ text: 'The word was banana.' }]);
    const second = await suite.run('Which word did I ask you to remember?', { sessionId: first.job.resultSessionId! });
    expect(second.job).toMatchObject({ status: 'completed', resultSessionId: first.job.resultSessionId });
    const seen = options.conversationOf(suite.api.requests[0]!);
    expect(seen).toContain('Remember the word banana.');
    expect(seen).toContain('I will remember the word banana.');
    expect(seen).toContain('Which word did I ask you to remember?');
    return { first, second };
  };
  suite.resumeUnknown = async (sessionId) => {
    suite.api.script([{ text: 'Fresh start.' }]);
    const resumed = await suite.run('Carry on.', { sessionId });
    expect(resumed.job).toMatchObject({
      status: 'completed',
      exitCode: 0,
      resultSessionId: expect.stringMatching(options.sessionId ?? UUID),
    });
    expect(resumed.job.resultSessionId).not.toBe(sessionId);
    expect(resumed.events.map((event) => event.seq)).toEqual(resumed.events.map((_, index) => index));
    return resumed;
  };

  let startRunner: () => Promise<void>;
  beforeAll(async () => {
    const bin = installedCli(options.cli);
    [suite.server, suite.api] = await Promise.all([startTestControlPlane(), options.startApi()]);
    suite.sandbox = makeSandbox(options.cli);
    const env = options.setup(suite.sandbox, suite.api);
    const agent = agentBinary(bin, suite.sandbox);
    startRunner = async () => {
      suite.runner = new RealRunner(suite.server.url, suite.server.token, suite.sandbox, [`--${options.cli}-bin=${agent.bin}`], {
        ...agent.env,
        ...env,
      });
      // The runs happen in the sandbox unless asked otherwise: the runner says so as it starts (with --sandbox=on it
      // would refuse to start without one).
      await suite.runner.waitForLog(SANDBOXED ? /sandbox: on \(bubblewrap/ : /sandbox: off/);
    };
    await startRunner();
  });
  afterAll(async () => {
    await suite.runner?.stop();
    await Promise.all([suite.server?.close(), suite.api?.close()]);
    suite.sandbox?.remove();
  });
  beforeEach(() => suite.api.reset());
  afterEach((context) => {
    if (context.task.result?.state === 'fail')
      process.stderr.write(`runner output (last 6000 characters):\n${suite.runner.stderr.slice(-6000)}\n`);
    // Nothing but what the fake API implements should have been asked for.
    expect(suite.api.unknownRoutes).toEqual([]);
  });
  return suite;
}

/** The JSON objects the agent printed on stdout, from the stored events (stderr and plain lines left out). */
export const stdoutObjects = (events: readonly StoredEvent[]): Record<string, unknown>[] =>
  events
    .filter((event) => event.kind !== 'stderr_line' && event.kind !== 'stdout_line')
    .map((event) => event.payload as Record<string, unknown>);

export const stderrLines = (events: readonly StoredEvent[]): string[] =>
  events.filter((event) => event.kind === 'stderr_line').map((event) => event.payload as string);

/** The kinds of a job's events, its stderr lines left out (what a CLI logs there varies from run to run). */
export const stdoutKinds = (events: readonly StoredEvent[]): string[] =>
  events.filter((event) => event.kind !== 'stderr_line').map((event) => event.kind);

/** The `type` of each JSON object the CLI printed, in order. */
export const stdoutTypes = (events: readonly StoredEvent[]): unknown[] => stdoutObjects(events).map((line) => line.type);

/**
 * Replaces what belongs to this machine and this run in a recorded stream: the sandbox's and the CLIs' paths (also in
 * the dash-encoded form Claude Code uses for project folders), loopback ports, and socket paths named by a pid.
 */
export function scrubber(sandbox: Sandbox): (text: string) => string {
  const encode = (path: string) => path.replace(/[^a-zA-Z0-9]/g, '-');
  const pairs: [string, string][] = [
    [sandbox.workspace, '/w'],
    [sandbox.home, '/home/agent'],
    [sandbox.root, '/tmp/fos'],
    // Where the CLIs are installed shows in stack traces (Gemini prints one with every API error).
    [CLIS_DIR, '/opt/agent-clis'],
  ];
  return (text) => {
    let out = text;
    for (const [path, replacement] of pairs) out = out.replaceAll(path, replacement).replaceAll(encode(path), encode(replacement));
    return out.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:8080').replace(/\/tmp\/cc-socks\/\d+\.sock/g, '/tmp/cc-socks/1000.sock');
  };
}

/** The folder the tee wrapper copies each run's output to; inside the sandbox, so removed with it. */
const teeDir = (sandbox: Sandbox) => join(sandbox.root, 'tee');

/**
 * The binary to give the runner for a CLI, and the environment it needs: the real binary itself, or, when recording,
 * test/real-clis/tee-agent.mjs in front of it to copy what it prints.
 */
export function agentBinary(realBin: string, sandbox: Sandbox): { bin: string; env: Record<string, string> } {
  if (!RECORD) return { bin: realBin, env: {} };
  mkdirSync(teeDir(sandbox), { recursive: true });
  return {
    bin: fileURLToPath(new URL('tee-agent.mjs', import.meta.url)),
    env: { REAL_CLI_TEE_TARGET: realBin, REAL_CLI_TEE_DIR: teeDir(sandbox) },
  };
}

/**
 * Only with FOUNDEROS_RECORD_FIXTURES=1 (a normal run never touches the tree): copies what the real CLI printed on
 * stdout in run `run` of a job, byte for byte but scrubbed of this machine's paths and ports, to
 * test/fixtures/<cli>/recorded-<scenario>.jsonl, and its stderr, when `withStderr`, to recorded-<scenario>.stderr.txt.
 */
export function record(cli: string, scenario: string, sandbox: Sandbox, jobId: string, { run = 1, withStderr = false } = {}): void {
  if (!RECORD) return;
  const scrub = scrubber(sandbox);
  const copy = (stream: 'stdout' | 'stderr') => readFileSync(join(teeDir(sandbox), `${jobId}.${run}.${stream}`), 'utf8');
  const dir = new URL(`../fixtures/${cli}/`, import.meta.url);
  writeFileSync(new URL(`recorded-${scenario}.jsonl`, dir), scrub(copy('stdout')));
  if (withStderr) writeFileSync(new URL(`recorded-${scenario}.stderr.txt`, dir), scrub(copy('stderr')));
}

/**
 * What a job that hit a usage limit says of the reset: the time in its error message (epoch ms), null when the
 * message says the CLI gave none; fails the test when the message does not say "usage limit reached", or when the
 * reset the control plane stored with the limit is another.
 */
export function usageLimitReset(job: JobDetail): number | null {
  const said = /^usage limit reached \((?:resets at (\S+)|the CLI gave no reset time)\): /.exec(job.errorMessage ?? '');
  expect(said, `a usage limit in ${JSON.stringify(job.errorMessage)}`).not.toBeNull();
  const reset = said![1] ? Date.parse(said![1]) : null;
  expect(job.usageLimitResetsAt === null ? null : Date.parse(job.usageLimitResetsAt)).toBe(reset);
  return reset;
}

/** A time at least `ms` from now, on a whole minute: what a CLI that states resets to the minute (codex) says exactly. */
export function wholeMinuteAfter(ms: number): Date {
  return new Date(Math.ceil((Date.now() + ms) / 60_000) * 60_000);
}
