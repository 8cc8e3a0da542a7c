import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, TokenRejectedError, createRunnerApi } from '../../src/streams/http.js';

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

  const api = () => createRunnerApi({ serverUrl: baseUrl, token: TOKEN, userAgent: 'founderos-runner/test' });
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));

  it('should send the token and user agent to the protocol paths under the base URL', async () => {
    answer = json(200, { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' });
    expect(await firstValueFrom(api().nextJob())).toEqual({ kind: 'job', job: { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' } });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'GET', url: '/base/api/runner/jobs/next' });
    expect(last.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(last.headers['user-agent']).toBe('founderos-runner/test');
  });

  it.each([
    ['nextJob', 204, { kind: 'empty' }],
    ['claim', 409, { kind: 'lost' }],
    ['claim', 404, { kind: 'gone' }],
    ['appendEvents', 204, { kind: 'ok' }],
    ['appendEvents', 409, { kind: 'terminal' }],
    ['appendEvents', 403, { kind: 'gone' }],
    ['complete', 409, { kind: 'already_terminal' }],
    ['heartbeat', 409, { kind: 'cancelled' }],
    ['heartbeat', 404, { kind: 'unsupported' }],
  ] as const)('should map %s answered %i to %j', async (method, status, outcome) => {
    answer = (_req, res) => res.writeHead(status).end();
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
    answer = json(401, { error: 'runner_token_expired', expiredAt: '2026-01-01T00:00:00Z', requestId: 'req-1' }, { 'x-request-id': 'req-1' });
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
    let closed = false;
    answer = (req) => req.socket.on('close', () => (closed = true));
    const subscription = api().nextJob().subscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));
    subscription.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(true);
  });
});
