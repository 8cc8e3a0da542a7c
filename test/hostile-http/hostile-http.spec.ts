/**
 * The hostile-HTTP suite (issue 19): the built `founderos-runner server`, as a child process under `ulimit -n 1024`,
 * on PGlite and (with FOUNDEROS_TEST_DATABASE_URL) on PostgreSQL, against what an unauthenticated client, a runner
 * token or an agent's output can send: request targets and heads of every malformed class, malformed bodies, floods
 * of login bodies, wrong credentials and slow sockets. After each scenario the server must still be up, /healthz must
 * answer within a second (also while the scenario runs, where it says so), its memory must have stayed bounded, and
 * what legitimate clients did meanwhile must all be there.
 *
 * FOUNDEROS_HOSTILE_HTTP_BIN runs it against another build (e.g. today's main) to show which cases fail there.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AdminClient, type EventPage, type StoredEvent } from '../../src/control-plane/index.js';
import { DEFAULT_MAX_POLLS_PER_TOKEN } from '../../src/control-plane/control-plane.js';
import { RunnerHttp, TEST_DATABASE_URL, company, event, postgresBackend, type Backend } from '../control-plane/helpers.js';
import { markdownTable } from '../support/table.js';
import { ADMIN_KEY, rawExchange, sampleRss, SERVER_BIN, ServerChild, watchHealth } from './server-child.js';

/** The attackers that need a process of their own, so that their work does not delay the test's own probes. */
const SLOW_SOCKETS = fileURLToPath(new URL('./slow-sockets.mjs', import.meta.url));
const WRONG_CREDENTIALS = fileURLToPath(new URL('./wrong-credentials.mjs', import.meta.url));

/** Runs a fixture script to its end; resolves to what it printed. */
function runFixture(script: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`))));
  });
}

/** As on a default Linux login: the server must stay up within it. */
const OPEN_FILES = 1024;
/**
 * The transcript written and read back: 72 MiB in `npm test` (enough that today's main answers one page of it over
 * 64 MiB), 600 MiB in `npm run hostile` (HOSTILE_FULL=1), as the issue asks.
 */
const FULL = process.env.HOSTILE_FULL === '1';
const TRANSCRIPT_MIB = FULL ? 600 : 72;
/** Lines of about 1 MB, as the agent of the issue printed (within the runner's per-line cap). */
const LINE_BYTES = 1024 * 1024;
const LINES_PER_BATCH = 8;
/** The bounds the issue sets for reading a 600 MiB transcript back. */
const MAX_TRANSCRIPT_RSS_MB = 1536;
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** How much a scenario may leave the server holding more than before it (PGlite's and V8's own caches move a little). */
const DEFAULT_MAX_GROWTH_MB = 100;

interface Outcome {
  /** What came back, for the table (e.g. "413 ×100"). */
  answers: string;
  /** The slowest /healthz while the scenario ran, in ms, when it was watched. */
  healthWhileMs?: number;
  /** The peak RSS counted against its own bound (the scenario checks it). */
  peakMb?: number;
}

interface Row {
  backend: string;
  scenario: string;
  sends: string;
  answers: string;
  healthWhileMs: string;
  healthAfterMs: string;
  rss: string;
  verdict: string;
}

const rows: Row[] = [];

/** "401 ×20, 429 ×2980": how many answers of each status. */
function tally(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status === 0 ? 'closed' : status} ×${count}`)
    .join(', ');
}

/** Runs `tasks` with at most `concurrency` at once. */
async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/**
 * A POST whose body is `size` bytes of JSON-ish text, declared or chunked; resolves to the status, or 0 when the server
 * closed the connection before its answer was read (it answers a body it refuses at once and does not read the rest,
 * and a close with data unread is a reset). With `expectContinue` it sends the body only if the server asks for it.
 */
function postBody(
  url: string,
  path: string,
  size: number,
  options: { chunked?: boolean; expectContinue?: boolean; headers?: Record<string, string> },
): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...options.headers };
    if (!options.chunked) headers['content-length'] = size;
    if (options.expectContinue) headers.expect = '100-continue';
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    chunk.write('{"adminKey":"');
    let sent = 0;
    const pump = () => {
      while (sent < size && !req.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    if (options.expectContinue) req.once('continue', pump);
    else pump();
  });
}

/**
 * Line `seq` of the transcript: `bytes` characters of base64 from a keystream seeded by `seq`, as incompressible as
 * real output (a repeated character would be stored in a few kilobytes) and checkable without keeping it.
 */
function transcriptLine(seq: number, bytes: number): string {
  const key = createHash('sha256').update(`line ${seq}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc((bytes / 4) * 3)).toString('base64');
}

/** Which lines of the transcript a reader got back whole and in order, and what else it got. */
class TranscriptCheck {
  private next = 0;
  readonly problems: string[] = [];
  biggestAnswer = 0;

  constructor(private readonly lines: number) {}

  event(event: { seq: number | null; payload: unknown }): void {
    if (event.seq !== this.next) this.problems.push(`seq ${event.seq} where ${this.next} was due`);
    else if (event.payload !== transcriptLine(this.next, LINE_BYTES)) this.problems.push(`line ${this.next} came back different`);
    this.next = (event.seq ?? this.next) + 1;
  }

  answer(bytes: number): void {
    this.biggestAnswer = Math.max(this.biggestAnswer, bytes);
  }

  /** What is wrong once the reader is done: a problem, a line missing, or an answer over MAX_ANSWER_BYTES. */
  verdict(reader: string): string[] {
    const problems = this.problems.slice(0, 3).map((problem) => `${reader}: ${problem}`);
    if (this.next !== this.lines) problems.push(`${reader}: got ${this.next} of ${this.lines} lines`);
    if (this.biggestAnswer > MAX_ANSWER_BYTES) problems.push(`${reader}: an answer of ${this.biggestAnswer} bytes`);
    return problems;
  }
}

/**
 * Cuts a stream of text at `separator` without ever scanning or copying a long record twice (appending to one string
 * and searching it again makes reading a 4 MiB message quadratic): the pieces of a record are kept apart until its end.
 */
class RecordSplitter {
  private parts: string[] = [];

  constructor(private readonly separator: string) {}

  /** The records that `text` completes. */
  push(text: string): string[] {
    const records: string[] = [];
    // The separator may straddle the previous piece and this one.
    const tail = this.parts.at(-1)?.slice(-(this.separator.length - 1)) ?? '';
    let rest = tail + text;
    if (tail) this.parts[this.parts.length - 1] = this.parts.at(-1)!.slice(0, -tail.length);
    for (let end = rest.indexOf(this.separator); end >= 0; end = rest.indexOf(this.separator)) {
      records.push(this.parts.join('') + rest.slice(0, end));
      this.parts = [];
      rest = rest.slice(end + this.separator.length);
    }
    if (rest) this.parts.push(rest);
    return records;
  }
}

/** Reads an SSE response message by message (a message is a few MiB at most), calling `onMessage` with each. */
async function readSse(res: Response, onMessage: (event: string, data: string, bytes: number) => boolean): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages = new RecordSplitter('\n\n');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const block of messages.push(value)) {
      const event = /^event: (.*)$/m.exec(block.slice(0, 200))?.[1];
      const start = block.indexOf('data: ');
      if (event && start >= 0 && !onMessage(event, block.slice(start + 6), Buffer.byteLength(block))) {
        await reader.cancel();
        return;
      }
    }
  }
}

function hostileSuite(name: string, makeBackend: () => Promise<Backend | undefined>) {
  describe(`hostile HTTP on ${name}`, () => {
    let backend: Backend | undefined;
    let server: ServerChild;
    let admin: AdminClient;

    const startServer = async () => {
      await server?.stop(); // a dead one: its data dir goes
      server = await ServerChild.start({ databaseUrl: backend?.options().databaseUrl, openFiles: OPEN_FILES });
      admin = new AdminClient({ serverUrl: server.url, adminKey: ADMIN_KEY });
    };
    beforeAll(async () => {
      backend = await makeBackend();
      await startServer();
    }, 120_000);
    // A scenario that ended the server (a build without these defences) leaves the next one a new server.
    beforeEach(async () => {
      if (!server.alive()) await startServer();
    }, 120_000);

    /** A runner of a fresh company with a claimed job: what a legitimate client is doing while the scenario runs. */
    async function claimedJob() {
      const companyId = company('hostile-http');
      const { token } = await admin.createToken({ companyId, name: 'legit' });
      const runner = new RunnerHttp(server.url, token);
      const job = await admin.enqueueJob({ companyId, agentName: 'Legit', prompt: 'work' });
      // A new token from an address that has just been refused a lot waits out its 429s, as the runner does.
      for (;;) {
        const claim = await runner.claim(job.jobId);
        if (claim.status !== 429) {
          expect(claim.status).toBe(200);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, Number(claim.headers.get('retry-after')) * 1000));
      }
      return { runner, jobId: job.jobId, token };
    }

    /** Posts `count` one-event batches as a runner does, and resolves to the statuses. */
    async function legitBatches(runner: RunnerHttp, jobId: string, count: number, from = 0): Promise<number[]> {
      const statuses: number[] = [];
      for (let i = from; i < from + count; i++)
        statuses.push((await runner.events(jobId, [event({ seq: i, payload: `legit ${i}` })])).status);
      return statuses;
    }

    async function storedPayloads(jobId: string): Promise<unknown[]> {
      const payloads: unknown[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await admin.listEvents(jobId, { after });
        if (page.events.length === 0) return payloads;
        payloads.push(...page.events.map((e) => e.payload));
        after = page.nextCursor;
      }
    }

    /**
     * One scenario: runs `body`, then checks what every scenario must leave: the server up, /healthz within a second,
     * its memory within `maxGrowthMb` of where it was; and records a row of the table.
     */
    function scenario(
      title: string,
      sends: string,
      body: () => Promise<Outcome>,
      options: { maxGrowthMb?: number; maxPeakMb?: number; timeoutMs?: number } = {},
    ) {
      it(
        title,
        async () => {
          const before = server.rssMb();
          const sampler = sampleRss(server.pid);
          let outcome: Outcome | undefined;
          let failure: unknown;
          try {
            outcome = await body();
          } catch (err) {
            failure = err;
          }
          const peak = sampler.stop();
          const alive = server.alive();
          const healthAfterMs = alive ? await server.healthzMs() : Number.POSITIVE_INFINITY;
          const after = server.rssMb();
          const problems: string[] = [];
          if (failure) problems.push((failure as Error).message.split('\n')[0]!);
          if (!alive) problems.push(`the server exited: ${server.stderr.trim().split('\n').slice(-3).join(' / ')}`);
          if (healthAfterMs > 1000) problems.push('/healthz did not answer within a second afterwards');
          if (outcome?.healthWhileMs !== undefined && outcome.healthWhileMs > 1000)
            problems.push('/healthz did not answer within a second while it ran');
          const maxGrowthMb = options.maxGrowthMb ?? DEFAULT_MAX_GROWTH_MB;
          if (alive && after - before > maxGrowthMb) problems.push(`the server grew by ${after - before} MB and kept it`);
          if (options.maxPeakMb !== undefined && peak > options.maxPeakMb) problems.push(`the server held ${peak} MB at its peak`);
          rows.push({
            backend: name,
            scenario: title,
            sends,
            answers: outcome?.answers ?? '-',
            healthWhileMs: outcome?.healthWhileMs === undefined ? '-' : String(outcome.healthWhileMs),
            healthAfterMs: String(healthAfterMs),
            rss: `${before} → ${peak} → ${alive ? after : 'dead'}`,
            verdict: problems.length === 0 ? 'ok' : `FAIL: ${problems.join('; ')}`,
          });
          if (failure) throw failure;
          expect(problems).toEqual([]);
        },
        options.timeoutMs ?? 120_000,
      );
    }

    scenario(
      'request targets it cannot read',
      '//a:99999/, //[, //%zz/, /%, absolute forms, *, a:1, dot-dot escapes, a 15 kB path',
      async () => {
        const targets = [
          '//a:99999/',
          '//a:99999/x.png', // what <img src="http://127.0.0.1:8787//a:99999/x.png"> sends from any page
          '//[',
          '//%zz/',
          '/%',
          '/%00',
          '/api/admin/jobs/%ff',
          '/api/runner/jobs/%E0%A4/claim',
          'http://a:99999/healthz',
          'http://[/',
          'http://x/%zz',
          '*',
          'a:1',
          '/ui/..%2f..%2fpackage.json',
          '/ui/%2e%2e%2f%2e%2e%2fpackage.json',
          `/${'a'.repeat(15_000)}`,
        ];
        const statuses: number[] = [];
        for (const target of targets) {
          const answer = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
          statuses.push(answer.status);
          expect({ target, status: answer.status >= 400 && answer.status < 500 }).toEqual({ target, status: true });
          expect(answer.text).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
          expect(answer.text).not.toContain('"name": "@founderos/runner"');
        }
        return { answers: tally(statuses) };
      },
    );

    scenario(
      'malformed request heads',
      'unknown methods and versions, HTTP/2 and 0.9, bad and huge headers, smuggling pairs, bad chunks, 100 pipelined',
      async () => {
        const uuid = randomUUID();
        const requests: string[] = [
          'BREW /healthz HTTP/1.1\r\nhost: x\r\n\r\n',
          `${'G'.repeat(5000)} /healthz HTTP/1.1\r\nhost: x\r\n\r\n`,
          'GET /healthz HTTP/9.9\r\nhost: x\r\n\r\n',
          'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
          'GET /healthz\r\n\r\n',
          'GET /healthz HTTP/1.1\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nhost x\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nhost: x\r\nx-nul: a\u0000b\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nhost: x\r\nx-fold: a\r\n  b\r\n\r\n',
          `GET /healthz HTTP/1.1\r\nhost: x\r\n${Array.from({ length: 3000 }, (_, i) => `x-h${i}: v`).join('\r\n')}\r\n\r\n`,
          `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
          'POST /ui/login HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nabcdef',
          'POST /ui/login HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
          'POST /ui/login HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n',
          'POST /api/admin/jobs HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n',
          'POST /api/admin/jobs HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nabc',
          'POST /api/admin/jobs HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n',
          'POST /api/admin/jobs HTTP/1.1\r\nhost: x\r\ncontent-length: 1e3\r\n\r\n',
          `POST /api/runner/jobs/${uuid}/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer fos_${'x'.repeat(32)}\r\ncontent-length: 1000000000000\r\n\r\n{`,
          `POST /ui/login HTTP/1.1\r\nhost: x\r\norigin: http://x\r\nexpect: 100-continue\r\ncontent-length: 1000000000\r\n\r\n`,
          'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n',
          'GET /healthz HTTP/1.1\nhost: x\n\n',
          'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(100),
          'GET /healthz HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nhost: \u00ff\u00fe\r\n\r\n',
        ];
        const statuses: number[] = [];
        for (const raw of requests) {
          const answer = await rawExchange(server.port, Buffer.from(raw, 'latin1'));
          statuses.push(answer.status);
          expect({ raw: raw.slice(0, 60), status: answer.status < 500 }).toEqual({ raw: raw.slice(0, 60), status: true });
        }
        return { answers: tally(statuses) };
      },
    );

    scenario(
      'malformed bodies, authenticated',
      'bad JSON, 100k-deep nesting, invalid UTF-8, BOM, __proto__, lone surrogates, NUL keys, 257 events, 10 MiB + 1',
      async () => {
        const { runner, jobId } = await claimedJob();
        const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
        const batch = (payload: string) =>
          `{"events":[{"eventId":"${randomUUID()}","kind":"stdout_line","ts":"${new Date().toISOString()}","payload":${payload}}]}`;
        const runnerBodies: Array<string | Blob> = [
          'not json',
          '{',
          deep(100_000),
          `{"events":${deep(100_000)}}`,
          batch(deep(10_000)),
          new Blob([Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])]), // invalid UTF-8
          '\ufeff{"events":[]}',
          '{"events":[]}',
          `{"__proto__":{"polluted":true},"events":[]}`,
          batch('"\\ud800"'),
          batch('{"a\\u0000b":1}'),
          batch('1e400'),
          `{"events":[${Array.from({ length: 257 }, () => JSON.stringify(event())).join(',')}]}`,
        ];
        const statuses: number[] = [];
        for (const body of runnerBodies) {
          const res = await fetch(`${server.url}/api/runner/jobs/${jobId}/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${runner.token}`, 'content-type': 'application/json' },
            body,
          });
          statuses.push(res.status);
          expect({ body: String(body).slice(0, 40), status: res.status >= 400 && res.status < 500 }).toEqual({
            body: String(body).slice(0, 40),
            status: true,
          });
        }
        // Past the protocol's 10 MB: refused before a byte of it is read.
        const oversized = await postBody(server.url, `/api/runner/jobs/${jobId}/events`, 10 * 1024 * 1024 + 1, {
          expectContinue: true,
          headers: { authorization: `Bearer ${runner.token}` },
        });
        statuses.push(oversized);
        expect(oversized).toBe(413);
        const adminBodies = [
          '[]',
          deep(100_000),
          '{"companyId":{"$ne":null},"agentName":"A","prompt":"p"}',
          `{"companyId":"a","agentName":"A","prompt":"${'p'.repeat(2 * 1024 * 1024)}"}`,
        ];
        for (const body of adminBodies) {
          const res = await fetch(`${server.url}/api/admin/jobs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN_KEY}` },
            body,
          });
          statuses.push(res.status);
          expect(res.status >= 400 && res.status < 500).toBe(true);
        }
        const login = await fetch(`${server.url}/ui/login`, {
          method: 'POST',
          headers: { origin: server.url },
          body: '{"adminKey":{"$ne":null}}',
        });
        statuses.push(login.status);
        expect(login.status).toBe(401);
        // Nothing of that was stored; what the runner sends next is.
        expect(await legitBatches(runner, jobId, 3)).toEqual([204, 204, 204]);
        expect(await storedPayloads(jobId)).toEqual(['legit 0', 'legit 1', 'legit 2']);
        return { answers: tally(statuses) };
      },
    );

    scenario(
      'every admin answer is private',
      'admin reads of events, a prompt, the token list, a new token, a rotation, a 401',
      async () => {
        const { runner, jobId, token } = await claimedJob();
        await legitBatches(runner, jobId, 1);
        const tokens = await admin.listTokens({});
        const tokenId = tokens.find((t) => token.startsWith(t.preview))!.tokenId;
        const auth = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
        const answers = [
          await fetch(`${server.url}/api/admin/jobs/${jobId}/events`, { headers: auth }),
          await fetch(`${server.url}/api/admin/jobs/${jobId}`, { headers: auth }),
          await fetch(`${server.url}/api/admin/tokens`, { headers: auth }),
          await fetch(`${server.url}/api/admin/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ companyId: 'private' }) }),
          await fetch(`${server.url}/api/admin/tokens/${tokenId}/rotate`, { method: 'POST', headers: auth, body: '{}' }),
          await fetch(`${server.url}/api/admin/tokens`),
        ];
        for (const res of answers) {
          expect([res.url, res.headers.get('cache-control'), res.headers.get('x-content-type-options')]).toEqual([
            res.url,
            'no-store',
            'nosniff',
          ]);
        }
        return { answers: tally(answers.map((res) => res.status)) };
      },
    );

    scenario(
      '100 parallel 9 MiB login bodies',
      '100 × 9 MiB to POST /ui/login with the right Origin (50 declared, 50 chunked), 20 more with no Origin (closed: reset after the answer)',
      async () => {
        const nineMiB = 9 * 1024 * 1024;
        const before = server.rssMb();
        const sampler = sampleRss(server.pid, 20);
        const statuses = await Promise.all([
          ...Array.from({ length: 100 }, (_, i) =>
            postBody(server.url, '/ui/login', nineMiB, { chunked: i % 2 === 1, headers: { origin: server.url } }),
          ),
          ...Array.from({ length: 20 }, () => postBody(server.url, '/ui/login', nineMiB, { chunked: false })),
        ]);
        const peak = sampler.stop();
        expect(statuses.filter((status) => status !== 413 && status !== 403 && status !== 0)).toEqual([]);
        expect(peak - before).toBeLessThan(50);
        return { answers: tally(statuses), peakMb: peak };
      },
      { maxGrowthMb: 50 },
    );

    scenario(
      '3,000 wrong credentials',
      '1,000 wrong admin keys, 1,000 wrong runner tokens, 1,000 wrong logins, 64 at a time, while a runner and the admin work',
      async () => {
        const { runner, jobId } = await claimedJob();
        await legitBatches(runner, jobId, 1); // the runner was seen before the flood, as a running one is
        const logFrom = server.stderr.length;
        const health = watchHealth(server);
        const flood = runFixture(WRONG_CREDENTIALS, [server.url, '3000', '64']).then(
          (report) => JSON.parse(report) as Record<string, number>,
        );
        const legit = legitBatches(runner, jobId, 30, 1);
        const adminReads = pool(10, 1, async () => (await admin.listJobs({ limit: 5 })).length);
        const [statuses, legitStatuses] = await Promise.all([flood, legit, adminReads]);
        const healthWhileMs = await health.stop();
        expect(legitStatuses).toEqual(new Array(30).fill(204));
        expect(await storedPayloads(jobId)).toEqual(Array.from({ length: 31 }, (_, i) => `legit ${i}`));
        expect(Object.keys(statuses).sort()).toEqual(['401', '429']);
        expect(statuses['429']).toBeGreaterThan(2000);
        // A line per burst, not per request (the summaries come when the bursts end).
        const refusedLines = server.logSince(logFrom).filter((line) => / (401|429) \d+ms /.test(line));
        expect(refusedLines.length).toBeLessThan(20);
        return {
          answers: Object.entries(statuses)
            .map(([status, n]) => `${status} ×${n}`)
            .join(', '),
          healthWhileMs,
        };
      },
    );

    scenario(
      '1,100 slow sockets',
      `550 silent connections, 450 trickling a request head, 100 trickling a login body, opened over 2 s and reopened when closed, under ulimit -n ${OPEN_FILES}, for 15 s`,
      async () => {
        const { runner, jobId } = await claimedJob();
        const attack = runFixture(SLOW_SOCKETS, [String(server.port), '550', '450', '100', '15', '2000']);
        const health = watchHealth(server, 250);
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        const legit = await legitBatches(runner, jobId, 5); // a runner's requests while the sockets are held
        const report = await attack;
        const healthWhileMs = await health.stop();
        expect(legit).toEqual([204, 204, 204, 204, 204]);
        const { connections } = JSON.parse(report) as { connections: number };
        return { answers: `${connections} connections opened in all, the oldest idle closed to make room`, healthWhileMs };
      },
    );
    scenario(
      'one runner token asks for every connection',
      '300 long-polls at once with one valid token, while another runner works',
      async () => {
        const { runner, jobId } = await claimedJob();
        const companyId = company('greedy');
        const { token } = await admin.createToken({ companyId, name: 'greedy' });
        const greedy = new RunnerHttp(server.url, token);
        const health = watchHealth(server);
        const polls = Array.from({ length: 300 }, () => greedy.next().then((res) => res.status));
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const legit = await legitBatches(runner, jobId, 5);
        const statuses = await Promise.all(polls);
        const healthWhileMs = await health.stop();
        expect(legit).toEqual([204, 204, 204, 204, 204]);
        // The first DEFAULT_MAX_POLLS_PER_TOKEN wait out their long-poll (204: no work); the others are told to come
        // back later (429), by the token's cap on waiting polls before its cap on requests in flight.
        expect(statuses.filter((status) => status === 204).length).toBe(DEFAULT_MAX_POLLS_PER_TOKEN);
        expect(statuses.filter((status) => status !== 204 && status !== 429)).toEqual([]);
        return { answers: tally(statuses), healthWhileMs };
      },
    );

    scenario(
      `a ${TRANSCRIPT_MIB} MiB transcript`,
      `${TRANSCRIPT_MIB} lines of 1 MiB (incompressible) through the runner protocol, read back in full by the admin CLI, through GET /api/admin/jobs/:id/events and through the dashboard's stream`,
      async () => {
        const { runner, jobId } = await claimedJob();
        const lines = TRANSCRIPT_MIB;
        const timings: string[] = [];
        let started = performance.now();
        for (let first = 0; first < lines; first += LINES_PER_BATCH) {
          const batch = Array.from({ length: Math.min(LINES_PER_BATCH, lines - first) }, (_, i) =>
            event({ seq: first + i, payload: transcriptLine(first + i, LINE_BYTES) }),
          );
          const res = await runner.events(jobId, batch);
          if (res.status !== 204) throw new Error(`batch at line ${first} was answered ${res.status} ${JSON.stringify(res.body)}`);
        }
        expect((await runner.complete(jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
        const seconds = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
        timings.push(`written in ${seconds()}`);

        // The admin API, page by page, as the admin CLI and any script read it.
        started = performance.now();
        const paged = new TranscriptCheck(lines);
        let after = '0';
        for (;;) {
          const res = await fetch(`${server.url}/api/admin/jobs/${jobId}/events?after=${after}`, {
            headers: { authorization: `Bearer ${ADMIN_KEY}` },
          });
          const text = await res.text();
          paged.answer(Buffer.byteLength(text));
          const page = JSON.parse(text) as EventPage;
          if (page.events.length === 0) break;
          for (const e of page.events) paged.event(e);
          after = page.nextCursor;
        }
        timings.push(`API ${seconds()}`);

        // The dashboard's stream, to its end.
        started = performance.now();
        const streamed = new TranscriptCheck(lines);
        const stream = await fetch(`${server.url}/api/admin/live/jobs/${jobId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        await readSse(stream, (name, data, bytes) => {
          streamed.answer(bytes);
          if (name === 'events') for (const e of JSON.parse(data) as StoredEvent[]) streamed.event(e);
          return name !== 'end';
        });
        timings.push(`stream ${seconds()}`);

        // The admin CLI, one JSON event per line on its stdout.
        started = performance.now();
        const printed = new TranscriptCheck(lines);
        const cli = spawn(process.execPath, [SERVER_BIN, 'admin', 'jobs', 'events', jobId, '--json', '--server-url', server.url], {
          env: { PATH: process.env.PATH, FOUNDEROS_ADMIN_KEY: ADMIN_KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const cliLines = new RecordSplitter('\n');
        let cliErr = '';
        cli.stderr.on('data', (chunk: Buffer) => (cliErr += chunk.toString('utf8')));
        cli.stdout.setEncoding('utf8').on('data', (text: string) => {
          for (const line of cliLines.push(text)) printed.event(JSON.parse(line) as StoredEvent);
        });
        const code = await new Promise((resolve) => cli.on('close', resolve));
        timings.push(`CLI ${seconds()}`);
        const problems = [...paged.verdict('API'), ...streamed.verdict('stream'), ...printed.verdict('CLI')];
        if (code !== 0) problems.push(`the CLI exited ${code}: ${cliErr.trim().split('\n').at(-1)}`);
        expect(problems).toEqual([]);
        const biggest = Math.max(paged.biggestAnswer, streamed.biggestAnswer);
        return {
          answers: `all ${lines} lines back 3 times; largest answer ${(biggest / 1024 / 1024).toFixed(1)} MiB; ${timings.join(', ')}`,
        };
      },
      { maxPeakMb: MAX_TRANSCRIPT_RSS_MB, maxGrowthMb: 600, timeoutMs: FULL ? 1_800_000 : 600_000 },
    );

    afterAll(async () => {
      const table = markdownTable(
        [
          'Backend',
          'Scenario',
          'What it sends',
          'Answers',
          '/healthz while (ms)',
          '/healthz after (ms)',
          'Server RSS MB before → peak → after',
          'Verdict',
        ],
        rows
          .filter((row) => row.backend === name)
          .map((row) => [row.backend, row.scenario, row.sends, row.answers, row.healthWhileMs, row.healthAfterMs, row.rss, row.verdict]),
      );
      process.stdout.write(`\nHostile HTTP on ${name} (server: ${server?.url ?? 'not started'})\n${table}\n`);
      await server?.stop();
      await backend?.dispose();
    });
  });
}

hostileSuite('PGlite', async () => undefined);
describe.runIf(TEST_DATABASE_URL)('PostgreSQL', () => {
  hostileSuite('PostgreSQL', () => postgresBackend(TEST_DATABASE_URL!));
});
