import { describe, expect, it } from 'vitest';
import { serverAndRunners } from '../support/end-to-end.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { until } from '../support/runner-process.js';

/**
 * Part 2's longer long-poll (`Prefer: wait`, docs/protocol.md) between the built runner and the real control plane:
 * the server holds the runner's polls as long as it may, and a runner whose long waits a proxy cuts goes back to
 * the protocol's 30 s by itself.
 */
describe('the long-poll held longer (end to end)', () => {
  // A window of 1 s, and waits of up to 3 s for a runner that asks: the polls of a runner that asks are 3 s long.
  const e2e = serverAndRunners({ longPollMs: 1_000, maxLongPollMs: 3_000 });
  const polls = (recorded: readonly { method: string; path: string }[]) =>
    recorded.filter((request) => request.method === 'GET' && request.path.startsWith('/api/runner/jobs/next'));

  it('should be held as long as the server applies, and still take a job at once', async () => {
    const asked: string[] = [];
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, prefer }) => {
      if (method === 'GET' && prefer !== undefined) asked.push(prefer);
      return undefined;
    });
    try {
      e2e.start([], { FOUNDEROS_RUNNER_LONG_POLL_WAIT_SEC: '60' }, proxy.url);
      await until(
        () => polls(proxy.recorded).length >= 1,
        30_000,
        () => 'the runner never finished a poll',
      );
      const firstAnswered = polls(proxy.recorded).length;
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      // Held 3 s each: at most 3 more in 7 s (held the window of 1 s, it would have made about 7).
      expect(polls(proxy.recorded).length - firstAnswered).toBeLessThanOrEqual(3);
      // 30 s until the server showed it applies waits, then what the runner prefers.
      expect(asked[0]).toBe('wait=30');
      expect(asked.slice(1).every((prefer) => prefer === 'wait=60')).toBe(true);

      const job = await e2e.server.enqueue({ mode: 'stream', lines: 3 });
      expect(await e2e.server.waitForJob(job.jobId, undefined, 30_000)).toMatchObject({ status: 'completed', exitCode: 0 });
    } finally {
      await proxy.close();
    }
  });

  it('should go back to 30 s, saying so once, when a proxy cuts its long waits, and keep taking jobs', async () => {
    // A proxy whose read timeout (6 s) is shorter than the wait the runner asks for: 504 Gateway Timeout.
    let cut = 0;
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, prefer }) => {
      if (method !== 'GET' || prefer === undefined || prefer === 'wait=30') return undefined;
      cut++;
      return { takeOver: (response) => setTimeout(() => response.writeHead(504).end('Gateway Timeout'), 6_000) };
    });
    try {
      const runner = e2e.start([], { FOUNDEROS_RUNNER_LONG_POLL_WAIT_SEC: '60' }, proxy.url);
      await until(
        () => /ends long waits/.test(runner.stderr),
        60_000,
        () => `the runner never said its long waits were cut:\n${runner.stderr}`,
      );
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 3 });
      expect(await e2e.server.waitForJob(job.jobId, undefined, 30_000)).toMatchObject({ status: 'completed', exitCode: 0 });
      expect(cut).toBe(1);
      expect(runner.stderr.match(/ends long waits/g)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});
