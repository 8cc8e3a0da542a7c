/**
 * The dashboard's server side over real HTTP, without a browser: the event stream's resume logic, the job list's
 * change stream, the routes only the dashboard needs, login, and turning the dashboard off.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerVersionOf } from '../../src/control-plane/store/tokens.js';
import { resumeCursor, sseMessagePieces, type SseMessage as Message } from '../../src/control-plane/dashboard/sse.js';

const formatSseMessage = (message: Message) => [...sseMessagePieces(message)].join('');
import { startControlPlane, type ControlPlane, type StoredEvent } from '../../src/control-plane/index.js';
import { company, event, RunnerHttp, runnerFor } from '../control-plane/helpers.js';

const ADMIN_KEY = 'fosadmin_DashboardApiTestKey0123456789abcdefghij';

describe('resumeCursor', () => {
  it('should resume after Last-Event-ID, else after ?after=, else from the start', () => {
    expect(resumeCursor('42', '7')).toBe('42');
    expect(resumeCursor(['42'], null)).toBe('42');
    expect(resumeCursor(' 42 ', null)).toBe('42');
    expect(resumeCursor(undefined, '7')).toBe('7');
    expect(resumeCursor('', '7')).toBe('7');
    expect(resumeCursor(undefined, null)).toBeUndefined();
    expect(resumeCursor(undefined, '')).toBeUndefined();
  });

  it('should refuse, with a 400 that names it, a cursor the server cannot have sent', () => {
    for (const [header, after, named] of [
      ['abc', null, 'Last-Event-ID'],
      ['-1', '7', 'Last-Event-ID'],
      ['99999999999999999999', null, 'Last-Event-ID'],
      [undefined, '1e3', 'after'],
    ] as const) {
      expect(() => resumeCursor(header, after)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_request' }));
      expect(() => resumeCursor(header, after)).toThrow(new RegExp(`^${named} must be an event cursor`));
    }
  });
});

describe('runnerVersionOf', () => {
  it("should keep the first word of a runner's user-agent, printable and short, or nothing", () => {
    expect(runnerVersionOf('founderos-runner/0.2.0 node/20.20.2 (linux; x64)')).toBe('founderos-runner/0.2.0');
    expect(runnerVersionOf('my-runner/1')).toBe('my-runner/1');
    expect(runnerVersionOf(undefined)).toBeNull();
    expect(runnerVersionOf('  ')).toBeNull();
    expect(runnerVersionOf('evil\u001b[2J/1')).toBeNull();
    expect(runnerVersionOf('x'.repeat(81))).toBeNull();
  });
});

describe('sseMessagePieces', () => {
  it('should write id, event and one line of JSON data, even for text with line breaks', () => {
    expect(formatSseMessage({ id: '3', event: 'events', data: [{ payload: 'a\nb\r\nc' }] })).toBe(
      'id: 3\nevent: events\ndata: [{"payload":"a\\nb\\r\\nc"}]\n\n',
    );
    expect(formatSseMessage({ data: { x: 1 } })).toBe('data: {"x":1}\n\n');
    // Each event of a page is a piece of its own: a page is never one string.
    const events = [{ payload: 'one' }, { payload: 'two' }];
    expect([...sseMessagePieces({ id: '9', event: 'events', data: events })]).toEqual([
      'id: 9\nevent: events\ndata: ',
      '[',
      '{"payload":"one"}',
      ',',
      '{"payload":"two"}',
      ']',
      '\n\n',
    ]);
  });
});

interface SseMessage {
  id?: string;
  event: string;
  data: any;
}

/** An open SSE response, read message by message. */
async function openSse(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers }, signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    res,
    /** The next message (comments and `retry:` skipped); undefined when the stream ended. */
    async next(): Promise<SseMessage | undefined> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: Partial<SseMessage> = {};
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') message.id = value;
            if (field === 'event') message.event = value;
            if (field === 'data') message.data = JSON.parse(value);
          }
          if (message.event) return message as SseMessage;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
      }
    },
    close: () => abort.abort(),
  };
}

describe('dashboard routes', () => {
  let plane: ControlPlane;
  let companyId: string;
  let runner: RunnerHttp;

  beforeAll(async () => {
    plane = await startControlPlane({ adminKey: ADMIN_KEY, longPollMs: 1_000 });
  });
  afterAll(() => plane.close());

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${plane.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function runningJob() {
    companyId = company('sse');
    runner = await runnerFor(plane, companyId);
    const job = await plane.admin.enqueueJob({
      companyId,
      agentName: 'Streamer',
      prompt: 'go',
      sessionId: 'resume-me',
      model: 'm1',
      addDirs: ['/tmp/x'],
    });
    expect((await runner.claim(job.jobId)).status).toBe(200);
    return job;
  }

  it('should stream a job from the start, resume after Last-Event-ID with nothing lost or repeated, and end once the job is done', async () => {
    const job = await runningJob();
    const first = [event({ seq: 0, payload: 'one' }), event({ seq: 1, payload: 'two' })];
    expect((await runner.events(job.jobId, first)).status).toBe(204);

    const stream = await openSse(`${plane.url}/api/admin/live/jobs/${job.jobId}`);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(stream.res.headers.get('x-accel-buffering')).toBe('no');
    expect((await stream.next())!.data).toMatchObject({ jobId: job.jobId, status: 'streaming' });
    const page = (await stream.next())!;
    expect(page.event).toBe('events');
    expect(page.data.map((e: StoredEvent) => e.payload)).toEqual(['one', 'two']);
    stream.close();

    // While nobody listens, more arrives; a reconnect with the last id gets exactly that.
    const later = [event({ seq: 2, payload: 'three' }), event({ seq: 3, payload: 'four' })];
    expect((await runner.events(job.jobId, later)).status).toBe(204);
    const resumed = await openSse(`${plane.url}/api/admin/live/jobs/${job.jobId}`, { 'last-event-id': page.id! });
    expect((await resumed.next())!.event).toBe('job');
    const rest = (await resumed.next())!;
    expect(rest.data.map((e: StoredEvent) => e.payload)).toEqual(['three', 'four']);

    // Live: the next batch arrives as its own message, then the completion as a job update and the end.
    expect((await runner.events(job.jobId, [event({ seq: 4, payload: 'five' })])).status).toBe(204);
    const live = (await resumed.next())!;
    expect(live.data.map((e: StoredEvent) => e.payload)).toEqual(['five']);
    expect(BigInt(live.id!)).toBeGreaterThan(BigInt(rest.id!));
    expect((await runner.complete(job.jobId, { status: 'completed', exitCode: 0, costMicros: 1500, elapsedSec: 2 })).status).toBe(204);
    expect((await resumed.next())!).toMatchObject({ event: 'job', data: { status: 'completed', costMicros: 1500 } });
    expect((await resumed.next())!).toMatchObject({ event: 'end', data: { jobStatus: 'completed' } });
    expect(await resumed.next()).toBeUndefined();
  });

  it('should answer 400 to an invalid Last-Event-ID before the stream starts, not a stream that fails at once', async () => {
    const job = await runningJob();
    const res = await admin('GET', `/api/admin/live/jobs/${job.jobId}`);
    await res.body?.cancel();
    const bad = await fetch(`${plane.url}/api/admin/live/jobs/${job.jobId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'last-event-id': 'not-a-cursor' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await bad.json()).message).toContain('Last-Event-ID');
  });

  it('should answer 404 as JSON for an unknown job and 401 without the key, before any stream starts', async () => {
    const missing = await admin('GET', '/api/admin/live/jobs/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe('job_not_found');
    expect((await fetch(`${plane.url}/api/admin/live/jobs`)).status).toBe(401);
  });

  it('should send the page of the list, then only what changed on it', async () => {
    const mine = company('list');
    const older = await plane.admin.enqueueJob({ companyId: mine, agentName: 'Old', prompt: 'p' });
    const stream = await openSse(`${plane.url}/api/admin/live/jobs?companyId=${mine}&limit=1`);
    const first = (await stream.next())!;
    expect(first.event).toBe('page');
    expect(first.data).toMatchObject({ total: 1, offset: 0, hasNewer: false, hasOlder: false, running: 0 });
    expect(first.data.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([older.jobId]);
    // A new job comes in above: the message names it, the page's order and its place; the other row is not sent again.
    const job = await plane.admin.enqueueJob({ companyId: mine, agentName: 'A', prompt: 'a prompt\nof two lines' });
    const added = (await stream.next())!;
    expect(added.event).toBe('changes');
    expect(added.data).toMatchObject({ order: [job.jobId], total: 2, hasOlder: true });
    expect(added.data.upsert).toEqual([
      expect.objectContaining({ jobId: job.jobId, agentName: 'A', promptPreview: 'a prompt of two lines' }),
    ]);
    expect(added.data.upsert[0]).not.toHaveProperty('prompt');
    await plane.admin.cancelJob(job.jobId);
    const cancelled = (await stream.next())!;
    expect(cancelled.data.upsert.map((j: { status: string }) => j.status)).toEqual(['cancelled']);
    stream.close();
    const bogus = await admin('GET', '/api/admin/live/jobs?status=bogus');
    expect(bogus.status).toBe(400);
    expect((await bogus.json()).message).toContain('status must be one of');
  });

  it('should say who cancelled a job: the admin API, or the dashboard', async () => {
    const job = await runningJob();
    expect((await (await admin('POST', `/api/admin/jobs/${job.jobId}/cancel`)).json()).cancelledBy).toBe('the admin API');
    const other = await runningJob();
    await admin('POST', `/api/admin/jobs/stop-running?companyId=${other.companyId}`);
    expect((await plane.admin.getJob(other.jobId)).cancelledBy).toBe('the admin API (stop all running)');
  });

  it('should stream a transcript as JSON lines, page by page, every event once and in order', async () => {
    const job = await runningJob();
    const sent = Array.from({ length: 2_500 }, (_, seq) => event({ seq, payload: `line ${seq}` }));
    for (let i = 0; i < sent.length; i += 250) expect((await runner.events(job.jobId, sent.slice(i, i + 250))).status).toBe(204);
    const res = await admin('GET', `/api/admin/jobs/${job.jobId}/events.jsonl`);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="job-${job.jobId}.jsonl"`);
    const lines = (await res.text()).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).eventId)).toEqual(sent.map((e) => e.eventId));
    expect((await admin('GET', '/api/admin/jobs/00000000-0000-4000-8000-000000000000/events.jsonl')).status).toBe(404);
  });

  it('should run a job again with the same payload', async () => {
    const job = await runningJob();
    const res = await admin('POST', `/api/admin/jobs/${job.jobId}/run-again`);
    expect(res.status).toBe(201);
    const again = await res.json();
    expect(again.jobId).not.toBe(job.jobId);
    expect(again).toMatchObject({
      status: 'queued',
      companyId,
      agentId: job.agentId,
      agentName: 'Streamer',
      prompt: 'go',
      sessionId: 'resume-me',
      addDirs: ['/tmp/x'],
      runtimeConfig: { model: 'm1' },
    });
  });

  it("should stop every running job of a company, and leave queued and other companies' jobs alone", async () => {
    const job = await runningJob();
    const queued = await plane.admin.enqueueJob({ companyId, agentName: 'Q', prompt: 'p' });
    const elsewhere = await runningJob();
    const res = await admin('POST', `/api/admin/jobs/stop-running?companyId=${job.companyId}`);
    expect(await res.json()).toEqual({ cancelled: [job.jobId] });
    expect((await plane.admin.getJob(job.jobId)).status).toBe('cancelled');
    expect((await plane.admin.getJob(queued.jobId)).status).toBe('queued');
    expect((await plane.admin.getJob(elsewhere.jobId)).status).toBe('claimed');
  });

  it('should total jobs, cost and run time per company', async () => {
    const job = await runningJob();
    await runner.complete(job.jobId, { status: 'completed', exitCode: 0, costMicros: 2500, elapsedSec: 3 });
    const other = await plane.admin.enqueueJob({ companyId, agentName: 'B', prompt: 'p' });
    expect((await runner.claim(other.jobId)).status).toBe(200);
    await runner.complete(other.jobId, { status: 'failed', exitCode: 1, costMicros: 500, elapsedSec: 1.5 });
    await plane.admin.enqueueJob({ companyId, agentName: 'C', prompt: 'p' });
    const { companies } = await (await admin('GET', '/api/admin/stats')).json();
    expect(companies.find((c: { companyId: string }) => c.companyId === companyId)).toEqual({
      companyId,
      counts: { queued: 1, claimed: 0, streaming: 0, completed: 1, failed: 1, cancelled: 0 },
      costMicros: 3000,
      elapsedSec: 4.5,
    });
  });

  it('should list every token with its current job, whether its runner is online, and the version it said', async () => {
    const job = await runningJob();
    const idle = await plane.admin.createToken({ companyId, name: 'never started' });
    const versioned = await plane.admin.createToken({ companyId, name: 'says its version' });
    // Its first request (a 404: authenticated, then no such job) says what it is.
    const said = await new RunnerHttp(plane.url, versioned.token).raw('POST', `/api/runner/jobs/${randomUUID()}/heartbeat`, {
      headers: { 'user-agent': 'founderos-runner/9.8.7 node/20.20.2 (linux; x64)' },
    });
    expect(said.status).toBe(404);
    const { runners } = await (await admin('GET', '/api/admin/runners')).json();
    const mine = new Map(runners.filter((r: { companyId: string }) => r.companyId === companyId).map((r: { name: string }) => [r.name, r]));
    expect(mine.get('test runner')).toMatchObject({ currentJobId: job.jobId, revokedAt: null, online: true });
    expect(mine.get('says its version')).toMatchObject({ online: true, runnerVersion: 'founderos-runner/9.8.7', currentJobId: null });
    expect(mine.get('never started')).toMatchObject({ online: false, lastUsedAt: null, runnerVersion: null, tokenId: idle.info.tokenId });
  });

  it('should log in with the key (204 and a session cookie) and refuse a wrong key with a message that says where the key is', async () => {
    const origin = plane.url;
    const ok = await fetch(`${plane.url}/ui/login`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ adminKey: ADMIN_KEY }),
    });
    expect(ok.status).toBe(204);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const session = await fetch(`${plane.url}/ui/session`, { headers: { cookie } });
    expect(await session.json()).toEqual({ authenticated: true });
    expect((await fetch(`${plane.url}/api/admin/stats`, { headers: { cookie } })).status).toBe(200);
    // A cookie plus a wrong bearer key: the header decides.
    expect((await fetch(`${plane.url}/api/admin/stats`, { headers: { cookie, authorization: 'Bearer nope' } })).status).toBe(401);

    const wrong = await fetch(`${plane.url}/ui/login`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ adminKey: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).message).toContain('admin.key');
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('should end every copy of every session at logout, and only when a session asks', async () => {
    const origin = plane.url;
    const login = async () => {
      const res = await fetch(`${plane.url}/ui/login`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ adminKey: ADMIN_KEY }),
      });
      expect(res.status).toBe(204);
      return res.headers.get('set-cookie')!.split(';')[0]!;
    };
    const reads = async (cookie: string) => (await fetch(`${plane.url}/api/admin/stats`, { headers: { cookie } })).status;
    const [mine, otherBrowser] = [await login(), await login()];
    const copied = mine; // e.g. taken out of the browser's storage
    // A forged Origin without a session logs nobody out.
    expect((await fetch(`${plane.url}/ui/logout`, { method: 'POST', headers: { origin } })).status).toBe(204);
    expect([await reads(mine), await reads(otherBrowser)]).toEqual([200, 200]);

    const logout = await fetch(`${plane.url}/ui/logout`, { method: 'POST', headers: { origin, cookie: mine } });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^fos_session=; .*Max-Age=0/);
    expect([await reads(mine), await reads(copied), await reads(otherBrowser)]).toEqual([401, 401, 401]);
    expect(await (await fetch(`${plane.url}/ui/session`, { headers: { cookie: copied } })).json()).toEqual({ authenticated: false });
    expect(await reads(await login())).toBe(200);
  });

  it('should check the origin, and the size a login needs, before reading a login body', async () => {
    const big = JSON.stringify({ adminKey: 'x'.repeat(9 * 1024 * 1024) });
    const foreign = await fetch(`${plane.url}/ui/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('connection')).toBe('close');
    const tooBig = await fetch(`${plane.url}/ui/login`, { method: 'POST', headers: { origin: plane.url }, body: big });
    expect(tooBig.status).toBe(413);
  });

  it('should serve the page with a strict CSP, and not at all with ui: false', async () => {
    const page = await fetch(`${plane.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
    );
    // The bundle's files are named by their hash: a browser keeps them a year, and index.html, asked for again each
    // time, answers 304 while it is unchanged. Each comes compressed.
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const script = /\/ui\/app-[A-Z0-9]{8}\.js/.exec(await page.text())![0];
    const bundle = await fetch(`${plane.url}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bundle.headers.get('content-encoding')).toBe('br');
    expect(Number(bundle.headers.get('content-length'))).toBeLessThan((await bundle.arrayBuffer()).byteLength / 2);
    const again = await fetch(`${plane.url}/`, { headers: { 'if-none-match': page.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${plane.url}/ui/app.js`)).status).toBe(404);
    expect((await fetch(`${plane.url}${script}.map`)).status).toBe(404);
    // HEAD answers like GET without a body, and a stream's HEAD ends at once instead of streaming nothing.
    const head = await fetch(`${plane.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const headStream = await fetch(`${plane.url}/api/admin/live/jobs`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(headStream.status).toBe(200);
    expect(headStream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');

    const headless = await startControlPlane({ adminKey: ADMIN_KEY, ui: false });
    try {
      expect(headless.dashboardUrl).toBeUndefined();
      expect((await fetch(`${headless.url}/`)).status).toBe(404);
      expect((await fetch(`${headless.url}/api/admin/live/jobs`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(404);
    } finally {
      await headless.close();
    }
  });
});
