import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ControlPlaneOptions } from '../../src/control-plane/index.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';
import { FAKE_CLAUDE, RunnerProcess } from './runner-process.js';

export interface EndToEnd {
  /** The describe's reference control plane, started before its first test and closed after its last. */
  readonly server: TestControlPlane;
  /** The runner the test started last, if it started one. */
  readonly runner: RunnerProcess | undefined;
  /**
   * `founderos-runner start` against `serverUrl` (the server, or a proxy in front of it), with the server's token
   * and the fake claude unless `env` says otherwise; stopped after the test.
   */
  start(extraArgs?: readonly string[], env?: NodeJS.ProcessEnv, serverUrl?: string): RunnerProcess;
}

/**
 * The hooks of a describe that runs the built CLI against a real control plane (started with `options`): one server
 * for the describe, and every runner a test starts stopped after that test, its output printed when the test failed.
 */
export function serverAndRunners(options: ControlPlaneOptions = {}): EndToEnd {
  let server: TestControlPlane | undefined;
  const runners: RunnerProcess[] = [];
  beforeAll(async () => {
    server = await startTestControlPlane(options);
  });
  afterAll(async () => {
    await server?.close();
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') for (const runner of runners) process.stderr.write(`runner output:\n${runner.stderr}\n`);
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  });
  const started = (): TestControlPlane => {
    if (!server) throw new Error('the server starts in beforeAll: use it inside a test');
    return server;
  };
  return {
    get server() {
      return started();
    },
    get runner() {
      return runners.at(-1);
    },
    start(extraArgs = [], env = {}, serverUrl = started().url) {
      const runner = new RunnerProcess(['start', `--server-url=${serverUrl}`, ...extraArgs], {
        FOUNDEROS_RUNNER_TOKEN: started().token,
        FOUNDEROS_CLAUDE_BIN: FAKE_CLAUDE,
        ...env,
      });
      runners.push(runner);
      return runner;
    },
  };
}
