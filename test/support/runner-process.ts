import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killJobProcesses } from '../../src/streams/orphans.js';

export const RUNNER_BIN = fileURLToPath(new URL('../../dist/bin/founderos-runner.js', import.meta.url));
export const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/agents/fake-claude.mjs', import.meta.url));

/** Short internal timings so that the suite runs in seconds; the defaults are for real use. */
export const FAST_TIMINGS = {
  FOUNDEROS_RUNNER_KILL_GRACE_MS: '500',
  FOUNDEROS_RUNNER_HEARTBEAT_MS: '300',
  FOUNDEROS_RUNNER_POLL_MIN_INTERVAL_MS: '50',
  FOUNDEROS_RUNNER_RETRY_INITIAL_MS: '50',
  FOUNDEROS_RUNNER_RETRY_MAX_MS: '400',
};

/** The environment of this test process, without anything FounderOS that could leak into a case. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOUNDEROS_')));
}

/** The built CLI as a real child process, with its output collected. */
export class RunnerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Each runner gets its own spool, unless a test hands one over (to play a restart). */
  readonly spoolDir: string;
  /** And its own workspaces' root: the agent of job with agent id X works in `<workDir>/X`. */
  readonly workDir: string;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.spoolDir = env.FOUNDEROS_RUNNER_SPOOL_DIR ?? mkdtempSync(join(tmpdir(), 'founderos-spool-'));
    this.workDir = env.FOUNDEROS_RUNNER_WORK_DIR ?? mkdtempSync(join(tmpdir(), 'founderos-work-'));
    this.child = spawn(process.execPath, [RUNNER_BIN, ...args], {
      env: { ...cleanEnv(), ...FAST_TIMINGS, FOUNDEROS_RUNNER_SPOOL_DIR: this.spoolDir, FOUNDEROS_RUNNER_WORK_DIR: this.workDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Waits until the runner has logged a line matching `pattern`. */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    await until(
      () => pattern.test(this.stderr),
      timeoutMs,
      () => `runner never logged ${pattern}; it logged:\n${this.stderr}`,
    );
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /**
   * Kills the runner, as a crash would, then does what its next start would do: kills the processes of every job its
   * spool still holds (one it was still stopping at its end leaves a grandchild that ignores SIGTERM, for one).
   */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exit;
    const unsettled = existsSync(this.spoolDir) ? readdirSync(this.spoolDir).filter((name) => name.endsWith('.ndjson')) : [];
    for (const name of unsettled) killJobProcesses(name.slice(0, -'.ndjson'.length));
  }
}

/** Waits until `check` holds, asking every `intervalMs` (longer for a check that costs, such as a query). */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  explain: () => string,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(explain());
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Whether a process still runs; a zombie (dead, waiting to be reaped by its new parent) does not count. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A file a fake agent writes in its workspace, the one place it may write in the sandbox: the agent is given `name`
 * (relative: its working directory is its workspace), the test reads `path`. The workspace of `agentId` under
 * `workDir` is made here, so that the test can seed the file before the agent starts.
 */
export function workspaceFile(workDir: string, agentId: string, name: string): string {
  const workspace = join(workDir, agentId);
  mkdirSync(workspace, { recursive: true, mode: 0o700 });
  return join(workspace, name);
}
