import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '../../support/runner-process.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import { isTransientError } from '../../../src/operators/isTransientError.js';
import { ApiError, MalformedAnswerError, RedirectRefusedError, TokenRejectedError } from '../../../src/streams/http/errors.js';
import { createRunnerApi } from '../../../src/streams/http/runner-api.js';
import { ServerHealth } from '../../../src/streams/http/server-health.js';
import { ANSWER_LIMITS } from '../../../src/streams/http/transport.js';

const TOKEN = `fos_${'h'.repeat(32)}`;

describe('runner HTTP client', () => {
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.writeHead(204).end();
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  let baseUrl = '';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      answer(req, res, body);
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const api = (requestTimeoutMs?: number) =>
    createRunnerApi({ serverUrl: baseUrl, token: TOKEN, userAgent: 'founderos-runner/test', requestTimeoutMs });
  const json =
    (status: number, value: unknown, headers: Record<string, string> = {}) =>
    (_req: IncomingMessage, res: ServerResponse) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));

  it('should send the token and user agent to the protocol paths under the base URL', async () => {
    answer = json(200, { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' });
    expect(await firstValueFrom(api().nextJob())).toEqual({
      kind: 'job',
      job: { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' },
    });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'GET', url: '/base/api/runner/jobs/next' });
    expect(last.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(last.headers['user-agent']).toBe('founderos-runner/test');
  });

  it('should name the adapter types the runner is not taking now in the long-poll, and nothing when there are none', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    await firstValueFrom(api().nextJob(['claude_local', 'byo_runner']));
    expect(seen.at(-1)!.url).toBe('/base/api/runner/jobs/next?excludeAdapterTypes=claude_local%2Cbyo_runner');
    await firstValueFrom(api().nextJob([]));
    expect(seen.at(-1)!.url).toBe('/base/api/runner/jobs/next');
  });

  it("should ask for the protocol's 30 s unless told a longer wait, and read the wait the server says it applied", async () => {
    answer = (_req, res) => res.writeHead(204).end();
    expect(await firstValueFrom(api().nextJob())).toEqual({ kind: 'empty' });
    expect(seen.at(-1)!.headers.prefer).toBe('wait=30');
    answer = (_req, res) => res.writeHead(204, { 'preference-applied': 'wait=120' }).end();
    expect(await firstValueFrom(api().nextJob([], 300))).toEqual({ kind: 'empty', waitAppliedSec: 120 });
    expect(seen.at(-1)!.headers.prefer).toBe('wait=300');
    answer = json(
      200,
      { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' },
      { 'preference-applied': 'wait=300' },
    );
    expect(await firstValueFrom(api().nextJob([], 300))).toMatchObject({ kind: 'job', waitAppliedSec: 300 });
    // A header that is not a wait is not one: the server is taken not to apply waits.
    answer = (_req, res) => res.writeHead(204, { 'preference-applied': 'wait=soon' }).end();
    expect(await firstValueFrom(api().nextJob([], 300))).toEqual({ kind: 'empty' });
  });

  it.each([
    ['nextJob', 204, '', { kind: 'empty' }],
    ['claim', 409, '{"error":"job_not_claimable"}', { kind: 'job_ended' }],
    ['claim', 404, '{"error":"job_not_found"}', { kind: 'job_gone' }],
    ['appendEvents', 204, '', { kind: 'accepted' }],
    ['appendEvents', 200, 'stored', { kind: 'accepted' }],
    ['appendEvents', 409, '{"error":"job_terminal"}', { kind: 'job_ended' }],
    ['appendEvents', 403, '{"error":"job_not_owned_by_token"}', { kind: 'job_gone' }],
    ['appendEvents', 404, '', { kind: 'job_gone' }],
    ['complete', 204, '', { kind: 'accepted' }],
    ['complete', 409, '{"error":"job_already_terminal"}', { kind: 'job_ended' }],
    ['complete', 403, '', { kind: 'job_gone' }],
    ['heartbeat', 204, '', { kind: 'accepted' }],
    ['heartbeat', 409, '{"error":"job_not_owned_by_token"}', { kind: 'job_ended' }],
    // The reference server's answer for a job it does not know: that job is gone, the route is there.
    ['heartbeat', 404, '{"error":"job_not_found","requestId":"r"}', { kind: 'job_gone' }],
    ['heartbeat', 403, '{"error":"job_not_owned_by_token"}', { kind: 'job_gone' }],
    ['heartbeat', 404, '{"error":"not_found"}', { kind: 'route_missing' }],
    ['heartbeat', 404, '<html>Not Found</html>', { kind: 'route_missing' }],
    ['heartbeat', 405, '', { kind: 'route_missing' }],
    ['heartbeat', 501, '', { kind: 'route_missing' }],
  ] as const)('should map %s answered %i %s to %j', async (method, status, body, outcome) => {
    answer = (_req, res) => res.writeHead(status).end(body);
    const client = api();
    const calls: Record<typeof method, () => Observable<unknown>> = {
      nextJob: () => client.nextJob(),
      claim: () => client.claim('j1'),
      appendEvents: () => client.appendEvents('j1', []),
      complete: () => client.complete('j1', { status: 'completed', exitCode: 0 }),
      heartbeat: () => client.heartbeat('j1'),
    };
    expect(await firstValueFrom(calls[method]())).toEqual(outcome);
  });

  it('should raise TokenRejectedError on 401, with the code and request id', async () => {
    answer = json(
      401,
      { error: 'runner_token_expired', expiredAt: '2026-01-01T00:00:00Z', requestId: 'req-1' },
      { 'x-request-id': 'req-1' },
    );
    const failure = firstValueFrom(api().nextJob());
    await expect(failure).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(failure).rejects.toMatchObject({ status: 401, expired: true, expiredAt: '2026-01-01T00:00:00Z', requestId: 'req-1' });
  });

  it('should raise ApiError with the status for any other answer, so the retry policy can judge it', async () => {
    answer = (_req, res) => res.writeHead(502).end('<html>bad gateway</html>');
    const failure = firstValueFrom(api().appendEvents('j1', []));
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 502, message: expect.stringContaining('bad gateway') });
  });

  it('should abort the request in flight when unsubscribed', async () => {
    let closed: () => void = () => undefined;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    let arrived: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    answer = (req) => {
      req.socket.on('close', closed);
      arrived();
    };
    const subscription = api().nextJob().subscribe();
    await requestArrived;
    subscription.unsubscribe();
    await connectionClosed;
  });

  const DESCRIPTOR = { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' };
  const PAYLOAD = { jobId: 'j1', agentId: 'a', prompt: 'hi', sessionId: null, promptHash: 'h', runtimeConfig: {} };
  const raw =
    (status: number, body: string, headers: Record<string, string> = {}) =>
    (_req: IncomingMessage, res: ServerResponse) =>
      res.writeHead(status, headers).end(body);
  /** Streams `totalBytes` of `fill` in 64 KiB chunks as fast as the client reads; records how much it got out. */
  const flood =
    (status: number, totalBytes: number, sent: { bytes: number; closed: boolean }, fill = ' ') =>
    (_req: IncomingMessage, res: ServerResponse) => {
      const chunk = Buffer.alloc(64 * 1024, fill);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.on('close', () => (sent.closed = true));
      const pump = () => {
        while (sent.bytes < totalBytes && !res.destroyed) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    };
  const rejection = async (source: Observable<unknown>) => {
    try {
      await firstValueFrom(source);
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected the request to fail');
  };

  describe('a long-poll answered with something that is not a job', () => {
    it.each([
      ['null', 'null', 'the answer must be a JSON object {jobId, …} (got null)'],
      [
        'an empty object',
        '{}',
        'jobId must be 1 to 128 ASCII letters, digits, "-" or "_" (it goes into URL paths and file names) (got nothing)',
      ],
      ['an array', '[]', 'the answer must be a JSON object {jobId, …} (got [])'],
      ['a string', '"job"', 'the answer must be a JSON object {jobId, …} (got "job")'],
      ['a numeric jobId', JSON.stringify({ ...DESCRIPTOR, jobId: 42 }), 'jobId must be 1 to 128 ASCII letters'],
      [
        'a jobId of ..',
        JSON.stringify({ ...DESCRIPTOR, jobId: '..' }),
        'jobId must be 1 to 128 ASCII letters, digits, "-" or "_" (it goes into URL paths and file names) (got "..")',
      ],
      ['a jobId of 10 KB', JSON.stringify({ ...DESCRIPTOR, jobId: 'a'.repeat(10_240) }), `(got "${'a'.repeat(56)}...)`],
      ['a jobId holding NUL', JSON.stringify({ ...DESCRIPTOR, jobId: 'j\u00001' }), '(got "j\\u00001")'],
      ['a jobId with a slash', JSON.stringify({ ...DESCRIPTOR, jobId: 'a/../../admin' }), 'jobId must be 1 to 128'],
      ['a jobId with a lone surrogate', JSON.stringify({ ...DESCRIPTOR, jobId: 'j\ud800' }), '(got "j\\ud800")'],
      ['a jobId with a terminal escape', JSON.stringify({ ...DESCRIPTOR, jobId: 'j\u001b[2J' }), '(got "j\\u001b[2J")'],
      ['invalid JSON', '{"jobId": "j1",', 'the answer is not JSON (it starts "{\\"jobId\\": \\"j1\\",")'],
      [
        'an HTML page',
        '<html><body>Welcome to nginx!</body></html>',
        'the answer is not JSON (it starts "<html><body>Welcome to nginx!</body></html>")',
      ],
    ])(
      'should refuse %s, naming the problem and the requestId, as an error the poll retries with backoff',
      async (_name, body, problem) => {
        answer = raw(200, body, { 'content-type': 'application/json', 'x-request-id': 'req-garbage' });
        const requestsBefore = seen.length;
        const error = await rejection(api().nextJob());
        expect(error).toBeInstanceOf(MalformedAnswerError);
        expect(error.message).toContain(problem);
        expect(error.message).toContain('requestId req-garbage');
        expect(error.message).toContain('--server-url');
        expect(isTransientError(error)).toBe(true);
        // Nothing else was sent on the strength of it (no claim of /jobs/undefined/claim).
        expect(seen.length).toBe(requestsBefore + 1);
      },
    );

    it('should take a descriptor with its jobId alone, or with odd informational fields, as a job', async () => {
      answer = raw(200, JSON.stringify({ jobId: 'j1' }), { 'content-type': 'application/json' });
      expect(await firstValueFrom(api().nextJob())).toEqual({ kind: 'job', job: { jobId: 'j1' } });
      answer = raw(200, JSON.stringify({ jobId: 'j2', agentId: 7, agentName: null, createdAt: [], next: {} }), {
        'content-type': 'application/json',
      });
      expect(await firstValueFrom(api().nextJob())).toEqual({ kind: 'job', job: { jobId: 'j2' } });
    });

    it('should take the requestId from the body when the answer has no x-request-id header', async () => {
      answer = raw(200, JSON.stringify({ requestId: 'req-in-body' }));
      expect((await rejection(api().nextJob())).message).toContain('requestId req-in-body');
    });

    it('should stop reading a body past 64 KiB, however much the server sends', async () => {
      const sent = { bytes: 0, closed: false };
      answer = flood(200, 512 * 1024 * 1024, sent);
      const error = await rejection(api().nextJob());
      expect(error).toBeInstanceOf(MalformedAnswerError);
      expect(error.message).toContain('the answer is over 64 KiB, the most the runner reads from GET jobs/next');
      await until(
        () => sent.closed,
        5_000,
        () => 'the server never saw the runner hang up',
      );
      // The server got rid of little more than its socket buffers: the runner hung up instead of reading on.
      expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('a claim', () => {
    it('should return the checked payload, with the optional parts filled in', async () => {
      answer = json(200, { jobId: 'j1', prompt: 'hi' });
      expect(await firstValueFrom(api().claim('j1'))).toEqual({
        kind: 'claimed',
        payload: { jobId: 'j1', agentId: '', prompt: 'hi', sessionId: null, promptHash: '', runtimeConfig: {} },
      });
    });

    it('should report a payload it cannot run as malformed, naming every bad field, without claiming again', async () => {
      answer = json(200, { ...PAYLOAD, prompt: 42, runtimeConfig: { maxTurns: -1 } }, { 'x-request-id': 'req-claim' });
      const requestsBefore = seen.length;
      expect(await firstValueFrom(api().claim('j1'))).toEqual({
        kind: 'malformed',
        requestId: 'req-claim',
        problems: ['prompt must be a string (got 42)', 'runtimeConfig.maxTurns must be a positive integer (got -1)'],
      });
      expect(seen.length).toBe(requestsBefore + 1);
    });

    it('should read a payload of several MiB (a long prompt), and refuse one past 16 MiB', async () => {
      const prompt = 'p'.repeat(8 * 1024 * 1024);
      answer = json(200, { ...PAYLOAD, prompt });
      expect(await firstValueFrom(api().claim('j1'))).toMatchObject({ kind: 'claimed', payload: { prompt } });

      const sent = { bytes: 0, closed: false };
      answer = flood(200, 256 * 1024 * 1024, sent);
      expect(await firstValueFrom(api().claim('j1'))).toEqual({
        kind: 'malformed',
        problems: [`the answer is over 16 MiB, the most the runner reads from POST jobs/j1/claim`],
      });
      expect(ANSWER_LIMITS.claim).toBe(16 * 1024 * 1024);
      await until(
        () => sent.closed,
        5_000,
        () => 'the server never saw the runner hang up',
      );
      expect(sent.bytes).toBeLessThan(128 * 1024 * 1024);
    });

    it.each(['..', '', 'a/b', 'j\u0000', 'j\ud800'])('should refuse to send anything for the job id %j', async (jobId) => {
      const requestsBefore = seen.length;
      expect((await rejection(api().claim(jobId))).message).toMatch(
        /^refusing to send claim for this job: a job id must be 1 to 128 ASCII letters/,
      );
      expect(seen.length).toBe(requestsBefore);
    });
  });

  describe('redirects', () => {
    const redirect = (status: number) =>
      raw(status, 'moved', { location: 'https://elsewhere.example.com/api/runner/jobs/next', 'x-request-id': 'req-moved' });

    it.each([
      ['the long-poll', 302, () => api().nextJob()],
      ['an events batch', 307, () => api().appendEvents('j1', '{"events":[]}')],
      ['a claim', 308, () => api().claim('j1')],
      ['a completion', 303, () => api().complete('j1', { status: 'completed', exitCode: 0 })],
    ] as const)('should refuse a redirect of %s (%i) and say what to fix', async (_what, status, call) => {
      answer = redirect(status);
      const requestsBefore = seen.length;
      const error = await rejection(call());
      expect(error).toBeInstanceOf(RedirectRefusedError);
      expect(error.message).toMatch(
        new RegExp(
          `^server answered ${status} to (GET|POST) jobs/\\S+, a redirect to "https://elsewhere.example.com/api/runner/jobs/next" \\(requestId req-moved\\), which the runner does not follow`,
        ),
      );
      expect(error.message).toContain('Set --server-url');
      expect(isTransientError(error)).toBe(true);
      expect(seen.length).toBe(requestsBefore + 1);
    });

    it('should not follow a redirect to the same server either', async () => {
      answer = (req, res) =>
        req.url?.endsWith('/events') ? res.writeHead(307, { location: '/base/elsewhere' }).end() : res.writeHead(204).end();
      await rejection(api().appendEvents('j1', '{"events":[]}'));
      expect(seen.some((request) => request.url === '/base/elsewhere')).toBe(false);
    });
  });

  describe('answers whose body is not needed, and error answers', () => {
    it('should take a heartbeat answered 200 with any body as accepted', async () => {
      answer = raw(200, '<html>not json</html>');
      expect(await firstValueFrom(api().heartbeat('j1'))).toEqual({ kind: 'accepted' });
      const sent = { bytes: 0, closed: false };
      answer = flood(200, 64 * 1024 * 1024, sent);
      expect(await firstValueFrom(api().heartbeat('j1'))).toEqual({ kind: 'accepted' });
    });

    it('should read only the start of a huge error body, and keep the status for the retry policy', async () => {
      const sent = { bytes: 0, closed: false };
      answer = flood(503, 256 * 1024 * 1024, sent, 'x');
      const error = await rejection(api().appendEvents('j1', []));
      expect(error).toMatchObject({ status: 503 });
      expect(error.message).toMatch(/^server answered 503 to POST jobs\/j1\/events: "x{50}/);
      expect(error.message.length).toBeLessThan(400);
      await until(
        () => sent.closed,
        5_000,
        () => 'the server never saw the runner hang up',
      );
      expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
    });

    it('should keep what is usable of a half-broken error body, and escape what would garble a log line', async () => {
      answer = json(500, { error: 42, requestId: 'req-5' });
      expect((await rejection(api().complete('j1', { status: 'completed', exitCode: 0 }))).message).toBe(
        'server answered 500 to POST jobs/j1/complete (requestId req-5): "{\\"error\\":42,\\"requestId\\":\\"req-5\\"}"',
      );
      answer = raw(502, 'bad \u001b[31mgateway\u202e', { 'x-request-id': 'req\u00e9' });
      expect((await rejection(api().complete('j1', { status: 'completed', exitCode: 0 }))).message).toBe(
        'server answered 502 to POST jobs/j1/complete: "bad \\u001b[31mgateway\\u202e"',
      );
    });

    it('should say that a busy server asks to wait, bounded, and name the wait', async () => {
      answer = json(429, { error: 'too_many_polls' }, { 'retry-after': '7' });
      const busy = await rejection(api().nextJob());
      expect(busy).toMatchObject({ status: 429, meaning: 'busy', retryAfterMs: 7_000 });
      expect(busy.message).toBe('server answered 429 too_many_polls to GET jobs/next; it asks to wait 7 s (Retry-After)');
      answer = json(429, {}, { 'retry-after': 'soon' });
      expect(await rejection(api().nextJob())).toMatchObject({ meaning: 'busy', retryAfterMs: undefined });
    });

    it('should tell the server health of every answer: a 2xx as accepted, any status as a path that is there', async () => {
      const health = new ServerHealth();
      const client = createRunnerApi({ serverUrl: baseUrl, token: TOKEN, userAgent: 'founderos-runner/test', health });
      const mark = health.mark();
      answer = (_req, res) => res.writeHead(502).end();
      await rejection(client.heartbeat('j1'));
      expect(health.acceptedSince(mark)).toBe(false);
      answer = (_req, res) => res.writeHead(204).end();
      await firstValueFrom(client.heartbeat('j1'));
      expect(health.acceptedSince(mark)).toBe(true);
    });

    it('should give up on an answer whose body never ends, within the request timeout', async () => {
      answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).write('{"jobId":');
      const error = await rejection(api(300).claim('j1'));
      expect(error.name).toBe('TimeoutError');
      expect(error.message).toBe('no complete answer to POST jobs/j1/claim within 0.3 s');
    });
  });

  describe('liveness of events batches and completions (timings: liveness.spec)', () => {
    const batch = [{ eventId: '00000000-0000-4000-8000-000000000001', kind: 'stdout', ts: '2026-01-01T00:00:00Z', payload: 'x' }] as never;

    it('should wait out a server that refuses connections, probing on its clock, and send as soon as it listens again', async () => {
      const port = await freePort();
      const clock = new VirtualClock();
      const events = { down: 0, back: 0 };
      const health = new ServerHealth({ onPathDown: () => events.down++, onPathBack: () => events.back++ });
      const client = createRunnerApi({
        serverUrl: `http://127.0.0.1:${port}`,
        token: TOKEN,
        userAgent: 'founderos-runner/test',
        health,
        scheduler: clock,
      });
      let outcome: unknown;
      const subscription = client.appendEvents('j1', batch).subscribe((value) => (outcome = value));
      // The refused exchange and the refused probe are real: the path is down once both have failed.
      await until(
        () => health.pathIsDown,
        5_000,
        () => 'the path was never seen down',
      );
      const seenByServer: string[] = [];
      const back = createServer((req, res) => {
        seenByServer.push(`${req.method} ${req.url} ${req.headers.authorization ?? 'no token'}`);
        res.writeHead(req.method === 'HEAD' ? 401 : 204).end();
      });
      await new Promise<void>((resolve) => back.listen(port, '127.0.0.1', resolve));
      const stop = clock.run();
      try {
        await until(
          () => outcome !== undefined,
          10_000,
          () => 'the batch never went once the server listened',
        );
      } finally {
        stop();
        subscription.unsubscribe();
        back.closeAllConnections();
        back.close();
      }
      // One attempt, no error for a pipeline to back off from: the request waited for the path, then went.
      expect(outcome).toEqual({ kind: 'accepted' });
      expect(events).toEqual({ down: 1, back: 1 });
      expect(seenByServer.at(-1)).toBe(`POST /api/runner/jobs/j1/events Bearer ${TOKEN}`);
      expect(seenByServer.filter((line) => line.startsWith('HEAD'))).toEqual(
        seenByServer.filter((line) => line === 'HEAD /api/runner/jobs/next no token'),
      );
    });

    it('should leave a request whose connection fails while the server answers probes to the pipeline', async () => {
      const events = { down: 0, back: 0 };
      const health = new ServerHealth({ onPathDown: () => events.down++ });
      answer = (req, res) => (req.method === 'HEAD' ? res.writeHead(401).end() : req.socket.destroy());
      const error = await rejection(
        createRunnerApi({ serverUrl: baseUrl, token: TOKEN, userAgent: 'test', health }).appendEvents('j1', batch),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(events.down).toBe(0);
    });
  });
});
