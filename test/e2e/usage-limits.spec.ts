import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JobDetail } from '../../src/control-plane/index.js';
import { serverAndRunners } from '../support/end-to-end.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { RunnerProcess, freePort, workspaceFile } from '../support/runner-process.js';

/**
 * Usage limits end to end (docs/usage-limits.md): the built runner against the reference control plane, with fake
 * agents. The fake claude plays a Claude subscription whose 5-hour window is spent for a few seconds from its first
 * run, printing what Claude Code 2.1.332 prints then (its `usage-limit` mode); the fake codex runs as usual.
 */
const FAKE_CODEX = fileURLToPath(new URL('../fixtures/agents/fake-codex.mjs', import.meta.url));
/** How long the window stays spent after the first claude run: long enough for the codex jobs to run meanwhile. */
const RESET_IN_MS = 8_000;
const CLAUDE_JOBS = 20;
const CODEX_JOBS = 4;
/** The claude jobs' agent: its workspace, the one place its runs may write in the sandbox, holds the window's state. */
const CLAUDE_AGENT = 'subscriber';

describe('usage limits end to end: 20 claude jobs behind a spent subscription, codex jobs beside them', () => {
  const e2e = serverAndRunners();

  /** Queues 20 claude jobs, then the codex ones; the window is shared through `stateFile`, in the agent's workspace. */
  async function queueJobs(stateFile: string) {
    const claude: string[] = [];
    for (let i = 0; i < CLAUDE_JOBS; i++) {
      const behaviour = { mode: 'usage-limit', stateFile, resetInMs: RESET_IN_MS, n: i };
      claude.push((await e2e.server.enqueue(behaviour, { agentId: CLAUDE_AGENT })).jobId);
    }
    const codex: string[] = [];
    for (let i = 0; i < CODEX_JOBS; i++)
      codex.push((await e2e.server.enqueue({ fixture: 'tool-use' }, { adapterType: 'codex_local', agentName: 'Cody' })).jobId);
    return { claude, codex };
  }
  const allDone = (ids: string[], timeoutMs: number): Promise<JobDetail[]> =>
    Promise.all(ids.map((id) => e2e.server.waitForJob(id, ['completed', 'failed', 'cancelled'], timeoutMs)));
  const windowOf = (runner: { workDir: string }, stateFile: string) =>
    JSON.parse(readFileSync(workspaceFile(runner.workDir, CLAUDE_AGENT, stateFile), 'utf8')) as {
      resetsAt: number;
      limited: number;
      completed: number;
    };

  it('should run one limited claude job, claim no other until the reset, run the codex jobs meanwhile, then run them all', async () => {
    const stateFile = 'window-part2.json';
    const { claude, codex } = await queueJobs(stateFile);
    const metricsPort = await freePort();
    const runner = e2e.start([`--codex-bin=${FAKE_CODEX}`, `--metrics-port=${metricsPort}`]);

    await runner.waitForLog(/claude hit a usage limit: taking no claude jobs until/, 30_000);
    // While paused: /metrics shows the pause's end, doctor the pause and its reason.
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toMatch(
      /^founderos_runner_usage_limited_until_seconds\{agent="claude"\} \d+$/m,
    );
    const doctor = new RunnerProcess(['doctor', '--json', `--server-url=${e2e.server.url}`, `--spool-dir=${runner.spoolDir}`], {
      FOUNDEROS_RUNNER_TOKEN: e2e.server.token,
    });
    await doctor.exit;
    expect(JSON.parse(doctor.stdout).checks).toContainEqual(
      expect.objectContaining({
        name: 'usage limits',
        status: 'warn',
        detail: expect.stringMatching(/^claude paused until .*: usage limit reached \(resets at /),
      }),
    );

    const claudeJobs = await allDone(claude, 90_000);
    const codexJobs = await allDone(codex, 30_000);
    const window = windowOf(runner, stateFile);
    const resetsAt = Math.ceil(window.resetsAt / 1000) * 1000;

    // One run hit the limit; every job completed in the end, the limited one on its second attempt (requeued).
    expect(window).toMatchObject({ limited: 1, completed: CLAUDE_JOBS });
    expect(claudeJobs.map((job) => job.status)).toEqual(claudeJobs.map(() => 'completed'));
    const limited = claudeJobs.filter((job) => job.usageLimitCount > 0);
    expect(limited).toEqual([
      expect.objectContaining({ jobId: claude[0], attempt: 2, usageLimitCount: 1, usageLimitResetsAt: new Date(resetsAt).toISOString() }),
    ]);
    // No claude job was claimed before the reset, but the first one's first claim.
    for (const job of claudeJobs) expect(Date.parse(job.claimedAt!), job.jobId).toBeGreaterThanOrEqual(resetsAt);
    // The codex jobs ran meanwhile.
    for (const job of codexJobs) {
      expect(job.status).toBe('completed');
      expect(Date.parse(job.completedAt!), job.jobId).toBeLessThan(resetsAt);
    }
    // Said once each: the pause with until when, and its end.
    expect(runner.stderr.match(/claude hit a usage limit/g)).toHaveLength(1);
    expect(runner.stderr).toContain(`taking no claude jobs until ${new Date(resetsAt).toISOString()}`);
    expect(runner.stderr.match(/claude: the usage-limit pause is over; taking claude jobs again/g)).toHaveLength(1);
  }, 150_000);

  it('should do the same against a server without the extension, the limited job failed with the reason', async () => {
    // A Part-1 server, played by a proxy: no adapterType in descriptors, no excludeAdapterTypes, no usageLimit stored.
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, path, body }) => {
      if (method === 'GET' && path.startsWith('/api/runner/jobs/next'))
        return {
          forwardAs: { path: '/api/runner/jobs/next', body: '' },
          rewrite: (status, text) => {
            if (status !== 200) return { status, body: text };
            const { adapterType: _dropped, ...descriptor } = JSON.parse(text) as Record<string, unknown>;
            return { status, body: JSON.stringify(descriptor) };
          },
        };
      if (method === 'POST' && path.endsWith('/complete')) {
        const { usageLimit: _dropped, ...completion } = JSON.parse(body) as Record<string, unknown>;
        return { forwardAs: { path, body: JSON.stringify(completion) }, rewrite: (status, text) => ({ status, body: text }) };
      }
      return undefined;
    });
    try {
      const stateFile = 'window-part1.json';
      const { claude, codex } = await queueJobs(stateFile);
      const runner = e2e.start([`--codex-bin=${FAKE_CODEX}`], {}, proxy.url);
      const claudeJobs = await allDone(claude, 90_000);
      await allDone(codex, 30_000);
      const window = windowOf(runner, stateFile);
      const resetsAt = Math.ceil(window.resetsAt / 1000) * 1000;

      // The limited job failed (such a server does not requeue), saying why; the 19 behind it waited and ran.
      expect(window).toMatchObject({ limited: 1, completed: CLAUDE_JOBS - 1 });
      expect(claudeJobs[0]).toMatchObject({
        status: 'failed',
        usageLimitCount: 0,
        errorMessage: `usage limit reached (resets at ${new Date(resetsAt).toISOString()}): You've hit your 5-hour limit · resets soon (UTC)`,
      });
      for (const job of claudeJobs.slice(1)) {
        expect(job.status).toBe('completed');
        expect(Date.parse(job.claimedAt!), job.jobId).toBeGreaterThanOrEqual(resetsAt);
      }
      // The runner named the paused CLI in its long-poll; the server never heard it.
      expect(proxy.recorded.some((request) => request.path.includes('excludeAdapterTypes'))).toBe(true);
      expect(runner.stderr.match(/claude hit a usage limit/g)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  }, 150_000);
});
