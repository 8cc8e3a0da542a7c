import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesOfJob } from '../../src/streams/orphans.js';
import { serverAndRunners } from '../support/end-to-end.js';
import { until } from '../support/runner-process.js';
import { startRecordingProxy } from '../support/recording-proxy.js';

const DESCRIPTOR = { agentId: 'a', agentName: 'Fake', createdAt: '2026-01-01T00:00:00Z' };

/** What a broken or hostile server can answer to the long-poll instead of a job; each is skipped, none ends the runner. */
const GARBAGE: { status: number; body: string; headers?: Record<string, string> }[] = [
  { status: 200, body: 'null' },
  { status: 200, body: '{}' },
  { status: 200, body: '[]' },
  { status: 200, body: '"a job"' },
  { status: 200, body: JSON.stringify({ ...DESCRIPTOR, jobId: 42 }) },
  { status: 200, body: JSON.stringify({ ...DESCRIPTOR, jobId: '..' }) },
  { status: 200, body: JSON.stringify({ ...DESCRIPTOR, jobId: 'x'.repeat(10_240) }) },
  { status: 200, body: JSON.stringify({ ...DESCRIPTOR, jobId: 'j\u0000' }) },
  { status: 200, body: JSON.stringify({ ...DESCRIPTOR, jobId: 'j\ud800' }) },
  { status: 200, body: '<html><body>Welcome to nginx!</body></html>' },
  { status: 200, body: '{"jobId": "j1",' },
  { status: 302, body: '', headers: { location: 'https://elsewhere.example.com/api/runner/jobs/next' } },
  { status: 404, body: '{"error":"not_found"}' },
];

/** The built CLI against a server that answers garbage: it stays up, says why with the requestId, and serves. */
describe('founderos-runner start against answers it cannot use (end to end)', () => {
  const e2e = serverAndRunners();

  it('should skip every malformed long-poll answer, logging its requestId, then run the job that comes after', async () => {
    let polls = 0;
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, path }) => {
      if (method !== 'GET' || !path.endsWith('/jobs/next') || polls >= GARBAGE.length) return undefined;
      const answer = GARBAGE[polls]!;
      return { respond: { ...answer, headers: { ...answer.headers, 'x-request-id': `req-garbage-${polls++}` } } };
    });
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 5 });
      const runner = e2e.start([], {}, proxy.url);
      const done = await e2e.server.waitForJob(job.jobId, undefined, 30_000);
      expect(done).toMatchObject({ status: 'completed', eventCount: 9 });
      expect(runner.child.exitCode).toBeNull();
      for (let index = 0; index < GARBAGE.length; index++) expect(runner.stderr).toContain(`requestId req-garbage-${index}`);
      expect(runner.stderr).toContain('a redirect to \\"https://elsewhere.example.com/api/runner/jobs/next\\"');
      // Nothing was claimed, sent or completed but the real job.
      const jobPaths = proxy.recorded
        .filter((request) => !request.path.endsWith('/jobs/next'))
        .map((request) => request.path.split('/')[4]);
      expect(new Set(jobPaths)).toEqual(new Set([job.jobId]));
      expect(polls).toBe(GARBAGE.length);
    } finally {
      await proxy.close();
    }
  });

  it('should claim and run a job offered by its jobId alone, and one whose informational fields are odd', async () => {
    const bare = await e2e.server.enqueue({ mode: 'stream', lines: 2 });
    const odd = await e2e.server.enqueue({ mode: 'stream', lines: 2 });
    const offers = [{ jobId: bare.jobId }, { jobId: odd.jobId, agentId: 7, agentName: null, createdAt: 'yesterday', queue: { at: 1 } }];
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, path }) => {
      const offer = method === 'GET' && path.endsWith('/jobs/next') ? offers.shift() : undefined;
      return offer && { respond: { status: 200, body: JSON.stringify(offer) } };
    });
    try {
      const runner = e2e.start([], {}, proxy.url);
      for (const job of [bare, odd]) {
        expect(await e2e.server.waitForJob(job.jobId, undefined, 30_000)).toMatchObject({ status: 'completed' });
      }
      expect(runner.stderr).not.toContain('cannot use');
    } finally {
      await proxy.close();
    }
  });

  it('should not follow a redirect of an events batch elsewhere, and deliver the batch once the server takes it', async () => {
    // Another origin that would gladly take the agent's output.
    const elsewhere: string[] = [];
    const other = createServer((req, res) => {
      elsewhere.push(`${req.method} ${req.url}`);
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const collect = `http://127.0.0.1:${(other.address() as AddressInfo).port}/collect`;
    let redirected = 0;
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path.endsWith('/events') && redirected++ < 2 ? { respond: { status: 307, headers: { location: collect } } } : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 5 });
      const runner = e2e.start([], {}, proxy.url);
      expect(await e2e.server.waitForJob(job.jobId, undefined, 30_000)).toMatchObject({ status: 'completed', eventCount: 9 });
      expect((await e2e.server.events(job.jobId)).map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(elsewhere).toEqual([]);
      expect(runner.stderr).toContain(`a redirect to \\"${collect}\\"`);
      expect(runner.stderr).toContain('which the runner does not follow');
      expect(proxy.recorded.filter((request) => request.status === 307)).toHaveLength(2);
    } finally {
      await proxy.close();
      other.close();
    }
  });

  it("should stop a silent agent whose heartbeat is answered 404 job_not_found, and keep the next job's heartbeats on", async () => {
    const first = await e2e.server.enqueue({ mode: 'hang' });
    const second = await e2e.server.enqueue({ mode: 'hang' });
    // The server forgot the first job (as the reference server answers a job it does not know): that job is gone.
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path === `/api/runner/jobs/${first.jobId}/heartbeat`
        ? { respond: { status: 404, body: JSON.stringify({ error: 'job_not_found', requestId: 'req-forgot' }) } }
        : undefined,
    );
    const heartbeatsOf = (jobId: string) => proxy.recorded.filter((request) => request.path === `/api/runner/jobs/${jobId}/heartbeat`);
    try {
      e2e.start([], {}, proxy.url);
      expect(await e2e.server.waitForJob(first.jobId)).toMatchObject({
        status: 'cancelled',
        errorMessage: 'cancelled on the server while the job ran',
      });
      await e2e.server.waitForJob(second.jobId, ['claimed', 'streaming']);
      await until(
        () => heartbeatsOf(second.jobId).length >= 2,
        10_000,
        () => `the second job's heartbeats stopped: ${JSON.stringify(heartbeatsOf(second.jobId))}`,
      );
      // Its cancel reaches its silent agent by the heartbeat alone.
      await e2e.server.admin.cancelJob(second.jobId);
      expect(await e2e.server.waitForJob(second.jobId)).toMatchObject({ status: 'cancelled' });
      await until(
        () => heartbeatsOf(second.jobId).some((request) => request.status === 409),
        10_000,
        () => 'the cancel never reached the second job by its heartbeat',
      );
      // Stopped, not only reported: no process of either job is left (the grandchild ignores SIGTERM).
      await until(
        () => processesOfJob(first.jobId).length + processesOfJob(second.jobId).length === 0,
        10_000,
        () => `a process of a cancelled job still runs: ${[...processesOfJob(first.jobId), ...processesOfJob(second.jobId)].join(', ')}`,
      );
      expect(heartbeatsOf(first.jobId).map((request) => request.status)).toEqual([404]);
    } finally {
      await proxy.close();
    }
  });

  it('should quarantine leftover spools that recovery cannot deliver, then serve, with the token read from a private file', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'founderos-spool-'));
    const header = (jobId: string) => JSON.stringify({ t: 'job', jobId, serverUrl: e2e.server.url, runnerPid: 999_999_999 });
    // The agent's output cannot be read (a directory where the file should be): settling it throws.
    const unreadable = randomUUID();
    writeFileSync(join(spoolDir, `${unreadable}.ndjson`), `${header(unreadable)}\n`);
    mkdirSync(join(spoolDir, `${unreadable}.stdout`));
    // A damaged header whose job id cannot even be put in a URL.
    writeFileSync(join(spoolDir, 'damaged.ndjson'), `${header('j\ud800')}\n{"events":[]}\n`);
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'founderos-token-')), 'token');
    writeFileSync(tokenFile, `${e2e.server.token}\n`, { mode: 0o600 });

    const job = await e2e.server.enqueue({ mode: 'stream', lines: 5 });
    // The token from the file alone: no FOUNDEROS_RUNNER_TOKEN (spawn leaves out a variable that is undefined).
    const runner = e2e.start([], {
      FOUNDEROS_RUNNER_TOKEN: undefined,
      FOUNDEROS_RUNNER_TOKEN_FILE: tokenFile,
      FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir,
    });
    expect((await e2e.server.waitForJob(job.jobId, undefined, 30_000)).status).toBe('completed');
    expect(runner.child.exitCode).toBeNull();
    expect(runner.stderr).toContain('its spool was quarantined and the runner goes on');
    // The job id is random, so it may sort before or after "damaged": compare as a set.
    const quarantined = readdirSync(join(spoolDir, 'quarantine'));
    expect(quarantined).toHaveLength(3);
    expect(quarantined).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${unreadable}\\.ndjson\\.\\d+$`)),
        expect.stringMatching(new RegExp(`^${unreadable}\\.stdout\\.\\d+$`)),
        expect.stringMatching(/^damaged\.ndjson\.\d+$/),
      ]),
    );
    expect(runner.stderr).not.toContain(e2e.server.token);
  });
});
