import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { CompletionBody } from '../../src/protocol/types.js';
import {
  MAX_ERROR_MESSAGE_CHARS,
  MAX_SAME_5XX_ANSWERS,
  completionToSend,
  MAX_JOINED_BODY_BYTES,
  deliverBatch,
  deliverBatches,
  deliverCompletion,
  joinsRequest,
  type BatchOutcome,
  type Delivery,
  type DeliveryDeps,
} from '../../src/runner/delivery.js';
import { eventsOf, spooledBatchAt } from '../../src/runner/spool-events.js';
import { ApiError, TokenRejectedError } from '../../src/streams/http/errors.js';
import type { AppendOutcome, RunnerApi } from '../../src/streams/http/runner-api.js';
import { ServerHealth } from '../../src/streams/http/server-health.js';
import { findLeftovers, openJobSpool, type JobSpool } from '../../src/streams/spool.js';

const SERVER = 'https://control.example.com';
const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const body = (n: number) =>
  JSON.stringify({
    events: Array.from({ length: n }, (_, seq) => ({
      eventId: `e${seq}`,
      kind: 'stdout_line',
      ts: '2026-11-29T00:00:00.000Z',
      payload: `line ${seq}`,
      seq,
    })),
  });

/** What the fake server answers to each try, in order: `ok`, a status, or `net` (no answer at all). */
type Answer = 'ok' | 'net' | number;

/** `serverUp`: the server accepts other requests (heartbeats, other jobs) between this batch's tries, as `health` shows. */
function scriptedApi(script: Answer[], serverUp = false) {
  let tries = 0;
  const bodies: string[] = [];
  const health = new ServerHealth();
  const answer = (next: Answer): Observable<AppendOutcome> => {
    if (next === 'ok') return of({ kind: 'accepted' });
    if (next === 'net') return throwError(() => new TypeError('fetch failed'));
    if (next === 409) return of({ kind: 'job_ended' });
    if (next === 404) return of({ kind: 'job_gone' });
    if (next === 401) return throwError(() => new TokenRejectedError('POST events', 'invalid_runner_token', `req-${tries}`, '', undefined));
    const code = next === 413 ? 'payload_too_large' : next === 400 ? 'invalid_request' : 'internal_error';
    return throwError(() => new ApiError(next, 'POST events', code, `req-${tries}`, ''));
  };
  const api: Partial<RunnerApi> = {
    appendEvents: (_jobId, body) =>
      defer(() => {
        bodies.push(body as string);
        if (serverUp) health.answered(204, 0);
        return answer(script[tries++] ?? 'ok');
      }),
  };
  return { api: api as RunnerApi, health, tries: () => tries, bodies };
}

function newSpool(batches: number[]): { spool: JobSpool; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'delivery-spec-'));
  const spool = openJobSpool(dir, 'job-1', SERVER, 999_999);
  for (const size of batches) spool.appendBatch(body(size));
  return { spool, dir };
}

/** Delivers batch 0 in virtual time; retry n waits min(1000, 100 × 2^(n-1)) ms (jitter pinned to its ceiling). */
function deliverInVirtualTime(script: Answer[], spool: JobSpool = newSpool([3]).spool, serverUp = false) {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const { api, health, tries } = scriptedApi(script, serverUp);
  const deps: DeliveryDeps = { api, health, log: silentLog, retry: { initialDelayMs: 100, maxDelayMs: 1000, random: () => 1 }, scheduler };
  let outcome: BatchOutcome | undefined;
  let error: unknown;
  let atMs = -1;
  scheduler.run(() => {
    deliverBatch(deps, spool, spooledBatchAt(spool, 0)).subscribe({
      next: (value) => {
        outcome = value.outcome;
        atMs = scheduler.now();
      },
      error: (thrown: unknown) => (error = thrown),
    });
  });
  return { outcome, error, atMs, tries: tries(), spool };
}

describe('deliverBatch', () => {
  it('should set a batch aside at the first 4xx, with its status, code and requestId, and settle it in the spool', () => {
    for (const status of [400, 413, 422]) {
      const { outcome, tries, atMs, spool } = deliverInVirtualTime([status, 'ok']);
      expect(tries).toBe(1);
      expect(atMs).toBe(0);
      expect(outcome).toEqual({
        kind: 'set_aside',
        batch: { index: 0, events: 3, why: 'refused', status, code: expect.any(String), requestId: 'req-1' },
      });
      expect(spool.setAsideBatches).toEqual([expect.objectContaining({ index: 0, status })]);
    }
  });

  it(`should set a batch aside after ${MAX_SAME_5XX_ANSWERS} answers in a row of the same 5xx`, () => {
    const { outcome, tries, atMs } = deliverInVirtualTime(Array<Answer>(20).fill(500));
    expect(tries).toBe(MAX_SAME_5XX_ANSWERS);
    // 100 + 200 + 400 + 800 + 1000 + 1000 + 1000 ms of backoff between the 8 tries.
    expect(atMs).toBe(4500);
    expect(outcome).toEqual({
      kind: 'set_aside',
      batch: { index: 0, events: 3, why: 'failing', status: 500, code: 'internal_error', requestId: 'req-8' },
    });
  });

  it('should not count 502, 503, 504 or network errors between them, and start again at another 5xx', () => {
    const sevenOf500 = Array<Answer>(7).fill(500);
    const { outcome, tries } = deliverInVirtualTime([...sevenOf500, 502, 'net', 503, 504, 501, ...sevenOf500, 'net', 500]);
    expect(tries).toBe(7 + 4 + 1 + 7 + 1 + 1);
    expect(outcome).toMatchObject({ kind: 'set_aside', batch: { status: 500 } });
    expect(deliverInVirtualTime([...sevenOf500, 501, ...sevenOf500, 'ok']).outcome).toEqual({ kind: 'accepted' });
  });

  it('should retry network errors and unavailable answers for as long as it takes', () => {
    const outage: Answer[] = Array.from({ length: 300 }, (_, index) => ['net', 502, 503, 504, 429][index % 5] as Answer);
    const { outcome, tries, spool } = deliverInVirtualTime([...outage, 'ok']);
    expect(outcome).toEqual({ kind: 'accepted' });
    expect(tries).toBe(301);
    expect(spool.setAsideBatches).toEqual([]);
  });

  it(`should set a batch aside after ${MAX_SAME_5XX_ANSWERS} answers of 502 while the server answers other requests`, () => {
    const { outcome, tries } = deliverInVirtualTime(Array<Answer>(20).fill(502), undefined, true);
    expect(tries).toBe(MAX_SAME_5XX_ANSWERS);
    expect(outcome).toMatchObject({ kind: 'set_aside', batch: { why: 'failing', status: 502 } });
    // The same answers while nothing else gets through: an outage, waited out.
    expect(deliverInVirtualTime([...Array<Answer>(20).fill(502), 'ok']).outcome).toEqual({ kind: 'accepted' });
  });

  it('should keep the meaning of 401, 403/404 and 409', () => {
    expect(deliverInVirtualTime([401]).error).toBeInstanceOf(TokenRejectedError);
    expect(deliverInVirtualTime([404]).outcome).toEqual({ kind: 'job_gone' });
    expect(deliverInVirtualTime([409]).outcome).toEqual({ kind: 'job_ended' });
  });

  it('should leave a set-aside batch settled after a restart, so that recovery does not send it again, and send the rest', () => {
    const { spool, dir } = newSpool([3, 2, 4]);
    spool.ack(0);
    expect(deliverInVirtualTime([413], spoolAt(spool, 1)).outcome).toMatchObject({ kind: 'set_aside' });
    expect(readFileSync(join(dir, 'job-1.ndjson'), 'utf8')).toContain(
      '{"t":"set_aside","batches":2,"index":1,"events":2,"why":"refused","status":413',
    );
    const [leftover] = findLeftovers(dir, () => false);
    expect(leftover!.pendingBatches).toEqual([2]);
    expect(leftover!.spool.setAsideBatches).toEqual([
      { index: 1, events: 2, why: 'refused', status: 413, code: 'payload_too_large', requestId: 'req-1' },
    ]);
  });
});

describe('deliverBatches', () => {
  /** Delivers all the spool's batches as one group, in virtual time. */
  function deliverGroup(script: Answer[], sizes: number[]) {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const { spool, dir } = newSpool(sizes);
    const { api, bodies } = scriptedApi(script);
    const deps: DeliveryDeps = { api, log: silentLog, retry: { initialDelayMs: 100, maxDelayMs: 1000, random: () => 1 }, scheduler };
    const deliveries: Delivery[] = [];
    scheduler.run(() => {
      deliverBatches(
        deps,
        spool,
        sizes.map((_, index) => spooledBatchAt(spool, index)),
      ).subscribe((delivery) => deliveries.push(delivery));
    });
    return { deliveries, bodies, spool, dir };
  }

  it('should send the batches as one request, in order, and acknowledge them all at once', () => {
    const { deliveries, bodies, dir } = deliverGroup(['ok'], [3, 2, 4]);
    expect(deliveries).toEqual([{ outcome: { kind: 'accepted' }, accepted: 9 }]);
    expect(bodies).toHaveLength(1);
    expect(eventsOf(bodies[0]!)!.map((event) => event.payload)).toEqual([0, 1, 2, 0, 1, 0, 1, 2, 3].map((seq) => `line ${seq}`));
    expect(findLeftovers(dir, () => false)[0]!.pendingBatches).toEqual([]);
  });

  it('should send the same bytes again when the joined request is retried', () => {
    const { deliveries, bodies } = deliverGroup(['net', 503, 'ok'], [3, 2]);
    expect(deliveries).toEqual([{ outcome: { kind: 'accepted' }, accepted: 5 }]);
    expect(new Set(bodies).size).toBe(1);
    expect(bodies).toHaveLength(3);
  });

  it('should fall back to one request per batch when the joined one is refused, so only the bad batch is set aside', () => {
    // The joined request, then batch 0, batch 1 (refused alone), batch 2.
    const { deliveries, bodies, spool, dir } = deliverGroup([413, 'ok', 413, 'ok'], [3, 2, 4]);
    expect(deliveries.map(({ outcome, accepted }) => [outcome.kind, accepted])).toEqual([
      ['accepted', 3],
      ['set_aside', 0],
      ['accepted', 4],
    ]);
    expect(bodies.map((body) => eventsOf(body)!.length)).toEqual([9, 3, 2, 4]);
    expect(spool.setAsideBatches).toEqual([expect.objectContaining({ index: 1, events: 2, status: 413 })]);
    expect(findLeftovers(dir, () => false)[0]!.pendingBatches).toEqual([]);
  });

  it('should stop at an answer that the job is over, and keep the meaning of 401', () => {
    expect(deliverGroup([409], [3, 2]).deliveries).toEqual([{ outcome: { kind: 'job_ended' }, accepted: 0 }]);
    // Refused together, then the first batch alone meets the end of the job: the second is not sent.
    const { deliveries, bodies } = deliverGroup([400, 404], [3, 2]);
    expect(deliveries).toEqual([{ outcome: { kind: 'job_gone' }, accepted: 0 }]);
    expect(bodies).toHaveLength(2);
    expect(() => deliverGroup([401], [3, 2])).toThrow(TokenRejectedError);
  });
});

describe('joinsRequest', () => {
  const batch = (size: number, bytes: number) => ({ index: 0, size, bytes });

  it("should join batches up to the protocol's 256 events and the byte budget, and no further", () => {
    expect(joinsRequest([batch(224, 1000)], batch(32, 1000))).toBe(true);
    expect(joinsRequest([batch(224, 1000), batch(32, 1000)], batch(1, 10))).toBe(false);
    expect(joinsRequest([batch(1, MAX_JOINED_BODY_BYTES - 100)], batch(1, 100))).toBe(true);
    expect(joinsRequest([batch(1, MAX_JOINED_BODY_BYTES - 100)], batch(1, 101))).toBe(false);
  });
});

/** The spool as seen by a delivery of batch `index` (deliverInVirtualTime delivers batch 0). */
function spoolAt(spool: JobSpool, index: number): JobSpool {
  return Object.assign(Object.create(spool) as JobSpool, {
    readBatch: () => spool.readBatch(index),
    ack: () => spool.ack(index),
    setAside: (batch: Parameters<JobSpool['setAside']>[0]) => spool.setAside({ ...batch, index }),
  });
}

describe('completionToSend', () => {
  const completed: CompletionBody = { status: 'completed', exitCode: 0, errorMessage: null };
  const refused = { index: 3, events: 12, why: 'refused' as const, status: 413, code: 'payload_too_large', requestId: 'req-a' };
  const failing = { index: 5, events: 1, why: 'failing' as const, status: 500, code: 'internal_error', requestId: 'req-b' };

  it('should leave a job with nothing set aside as it is', () => {
    expect(completionToSend(completed, [])).toEqual(completed);
  });

  it('should not report a job that lost output as completed, and say what was lost and why', () => {
    expect(completionToSend(completed, [refused, failing, { ...refused, index: 6, events: 2, requestId: 'req-c' }])).toEqual({
      status: 'failed',
      exitCode: 0,
      errorMessage:
        'the agent finished (exit 0), but 15 events in 3 batches were not accepted by the server ' +
        `(413 payload_too_large, requestId req-a; 500 internal_error ${MAX_SAME_5XX_ANSWERS} times in a row, requestId req-b); the transcript is incomplete`,
    });
  });

  it('should keep a failed or cancelled status, the loss leading its message', () => {
    const failed = completionToSend({ status: 'cancelled', exitCode: 143, errorMessage: 'cancelled on the server while the job ran' }, [
      failing,
    ]);
    expect(failed).toMatchObject({
      status: 'cancelled',
      errorMessage: expect.stringMatching(/^1 event in 1 batch was not accepted .*incomplete\. The run itself: cancelled on the server/),
    });
  });

  it('should ignore a damaged batch that held no readable event: its lines are read again from the files', () => {
    expect(completionToSend(completed, [{ index: 0, events: 0, why: 'refused', status: 400 }])).toEqual(completed);
  });

  it('should cut the error message, never a character in two, and make every string storable', () => {
    const message = `${'x'.repeat(MAX_ERROR_MESSAGE_CHARS - 1)}😀 and more`;
    const sent = completionToSend({ status: 'failed', exitCode: 1, errorMessage: message }, []);
    expect(sent.errorMessage).toHaveLength(MAX_ERROR_MESSAGE_CHARS);
    expect(sent.errorMessage!.isWellFormed()).toBe(true);
    expect(completionToSend({ status: 'failed', exitCode: 1, errorMessage: 'a\0b', sessionId: 'cut \ud83d' }, [])).toMatchObject({
      errorMessage: 'a\uFFFDb',
      sessionId: 'cut \uFFFD',
    });
  });
});

describe('deliverCompletion', () => {
  it('should record the agent verdict, send the honest completion, then remove the spool', () => {
    const { spool, dir } = newSpool([3]);
    spool.setAside({ index: 0, events: 3, why: 'refused', status: 413, code: 'payload_too_large', requestId: 'req-a' });
    let sent: CompletionBody | undefined;
    const api = {
      complete: (_jobId: string, completion: CompletionBody) => ((sent = completion), of({ kind: 'accepted' as const })),
    } as Partial<RunnerApi> as RunnerApi;
    let emitted: CompletionBody | undefined;
    deliverCompletion({ api, log: silentLog, retry: {}, scheduler: new TestScheduler(() => {}) }, spool, {
      status: 'completed',
      exitCode: 0,
    }).subscribe((body) => (emitted = body));
    expect(sent).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringContaining('3 events in 1 batch were not accepted by the server (413 payload_too_large, requestId req-a)'),
    });
    expect(emitted).toEqual(sent);
    expect(findLeftovers(dir, () => false)).toEqual([]);
  });
});
