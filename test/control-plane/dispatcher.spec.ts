/**
 * The dispatcher on a real PGlite database whose statements are counted: waiting polls cost no query, a queued job
 * costs one look however many polls wait and goes to exactly one of them, a token holds at most its cap of polls,
 * and the polls of a revoked token are answered without a job.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/control-plane/db.js';
import { openDb } from '../../src/control-plane/db.js';
import { DEFAULT_MAX_JOB_EVENT_BYTES } from '../../src/control-plane/control-plane.js';
import { Dispatcher, type PollOutcome } from '../../src/control-plane/dispatcher.js';
import { listenForChanges } from '../../src/control-plane/long-poll.js';
import { migrate } from '../../src/control-plane/migrations.js';
import { createStore, type Store } from '../../src/control-plane/store/index.js';
import { presentedSecret } from '../../src/control-plane/tokens.js';
import type { RunnerIdentity } from '../../src/control-plane/store/tokens.js';
import { company, eventually, sleep } from './helpers.js';

/** The same database, counting the statements sent through it, with notifications that can be cut. */
function countingDb(db: Db) {
  const watchers = new Set<(flowing: boolean) => void>();
  const state = { statements: 0, cut: false };
  const counted: Db = {
    ...db,
    query: (sql, params) => {
      state.statements++;
      return db.query(sql, params);
    },
    prepared: (sql, params) => {
      state.statements++;
      return db.prepared(sql, params);
    },
    transaction: (fn) => {
      state.statements++;
      return db.transaction(fn);
    },
    listen: (channel, onNotify) => db.listen(channel, (payload) => state.cut || onNotify(payload)),
    watchNotifications: (onChange) => {
      watchers.add(onChange);
      return () => watchers.delete(onChange);
    },
  };
  const tell = (flowing: boolean) => {
    state.cut = !flowing;
    for (const watcher of watchers) watcher(flowing);
  };
  return { db: counted, state, cut: () => tell(false), restore: () => tell(true) };
}

/** A poll's outcome once it has one, so that a test can see which polls are still waiting. */
function track(outcome: Promise<PollOutcome>) {
  const polled: { outcome?: PollOutcome } = {};
  void outcome.then((value) => (polled.outcome = value));
  return polled;
}

describe('dispatcher', () => {
  let raw: Db;
  let counting: ReturnType<typeof countingDb>;
  let store: Store;
  let dispatcher: Dispatcher;
  let unlisten: () => Promise<void>;
  const stop = new AbortController();

  beforeAll(async () => {
    raw = await openDb({});
    await migrate(raw);
    counting = countingDb(raw);
    store = createStore(counting.db, {
      leaseMs: 60_000,
      part1JobLimitMs: 30 * 60_000,
      tokenTtlSec: 3600,
      maxJobEventBytes: DEFAULT_MAX_JOB_EVENT_BYTES,
    });
    dispatcher = new Dispatcher({ jobs: store.runnerJobs, tokens: store.tokens, maxPollsPerToken: 100, log: () => {} });
    unlisten = await listenForChanges(counting.db, { dispatcher, tokens: store.tokens });
  }, 120_000); // PGlite's start alone takes seconds on a busy machine
  afterEach(() => counting.restore());
  afterAll(async () => {
    stop.abort();
    dispatcher?.close();
    await unlisten?.();
    await raw?.close();
  });

  async function runnerOf(companyId: string, ttlSec?: number): Promise<RunnerIdentity & { token: string }> {
    const { token } = await store.tokens.createToken(companyId, 'test', ttlSec);
    const auth = await store.tokens.authenticate(presentedSecret(token));
    if (auth.kind !== 'ok') throw new Error(`a new token was refused: ${auth.kind}`);
    return { ...auth.runner, token };
  }

  const enqueue = (companyId: string, prompt = 'p') => store.adminJobs.enqueueJob({ companyId, agentName: 'A', prompt });
  const answered = (polls: { outcome?: PollOutcome }[]) => polls.filter((poll) => poll.outcome !== undefined);

  it('should cost no query while 500 polls wait, and one look when a job is queued, handed to exactly one poll', async () => {
    const companyId = company('fan-out');
    const runners = await Promise.all(Array.from({ length: 5 }, () => runnerOf(companyId)));
    const polls = runners.flatMap((runner) => Array.from({ length: 100 }, () => track(dispatcher.wait(runner, [], 30_000, stop.signal))));
    await eventually(async () => (dispatcher.waiting === 500 ? true : undefined));
    await sleep(300); // the looks of their arrival are over

    const before = counting.state.statements;
    await sleep(1500);
    expect(counting.state.statements - before).toBe(0);

    const job = await enqueue(companyId);
    await eventually(async () => (answered(polls).length > 0 ? true : undefined));
    await sleep(300);
    expect(answered(polls).map((poll) => poll.outcome)).toEqual([{ kind: 'job', job: expect.objectContaining({ jobId: job.jobId }) }]);
    // The enqueue itself, and one look for 500 waiting polls.
    expect(counting.state.statements - before).toBe(2);

    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(companyId, `job ${i}`)));
    await eventually(async () => (answered(polls).length === 21 ? true : undefined));
    const handed = answered(polls).map((poll) => (poll.outcome?.kind === 'job' ? poll.outcome.job.jobId : poll.outcome?.kind));
    expect(new Set(handed)).toEqual(new Set([job.jobId, ...more.map((m) => m.jobId)]));
    expect(dispatcher.waiting).toBe(479);
  });

  it('should answer a token past its cap of polls at once, busy, with the seconds until its oldest poll ends', async () => {
    const capped = new Dispatcher({ jobs: store.runnerJobs, tokens: store.tokens, maxPollsPerToken: 3, log: () => {} });
    try {
      const runner = await runnerOf(company('cap'));
      const other = await runnerOf(runner.companyId);
      const first = new AbortController();
      const polls = [first.signal, stop.signal, stop.signal].map((signal) => track(capped.wait(runner, [], 20_000, signal)));
      expect(await capped.wait(runner, [], 20_000, stop.signal)).toEqual({ kind: 'busy', retryAfterSec: 20 });
      // Another token of the same company is not held back by this one's polls.
      const others = track(capped.wait(other, [], 20_000, stop.signal));
      // Once one of the token's polls ends, the token may poll again.
      first.abort();
      await eventually(async () => polls[0]!.outcome);
      const again = track(capped.wait(runner, [], 20_000, stop.signal));
      await sleep(100);
      expect([again.outcome, others.outcome, polls[1]!.outcome, polls[2]!.outcome]).toEqual([undefined, undefined, undefined, undefined]);
      expect(await capped.wait(runner, [], 20_000, stop.signal)).toMatchObject({ kind: 'busy' });
    } finally {
      capped.close();
    }
  });

  it('should answer the polls of a revoked token without a job, and give the next job to a poll of a good token', async () => {
    const companyId = company('revoke');
    const revoked = await runnerOf(companyId);
    const good = await runnerOf(companyId);
    const revokedPolls = Array.from({ length: 3 }, () => track(dispatcher.wait(revoked, [], 20_000, stop.signal)));
    const goodPoll = track(dispatcher.wait(good, [], 20_000, stop.signal));
    await sleep(200);
    await store.tokens.revokeToken(revoked.tokenId);
    const job = await enqueue(companyId);
    await eventually(async () => (answered([...revokedPolls, goodPoll]).length === 4 ? true : undefined));
    for (const poll of revokedPolls) expect(poll.outcome).toEqual({ kind: 'refused', auth: { kind: 'invalid' } });
    expect(goodPoll.outcome).toEqual({ kind: 'job', job: expect.objectContaining({ jobId: job.jobId }) });
  });

  it('should answer a poll whose token expires while it waits with the expiry, never a job', async () => {
    const runner = await runnerOf(company('expiry'), 1);
    const started = Date.now();
    const outcome = await dispatcher.wait(runner, [], 20_000, stop.signal);
    expect(outcome).toEqual({ kind: 'refused', auth: { kind: 'expired', expiredAt: runner.expiresAt, preview: runner.preview } });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('should offer a job again, to another poll, once an offer lapses unclaimed', async () => {
    const offerMs = 400;
    const lapsing = new Dispatcher({ jobs: store.runnerJobs, tokens: store.tokens, maxPollsPerToken: 100, offerMs, log: () => {} });
    try {
      const companyId = company('lapse');
      const runner = await runnerOf(companyId);
      const job = await enqueue(companyId);
      const first = await lapsing.wait(runner, [], 20_000, stop.signal);
      expect(first).toEqual({ kind: 'job', job: expect.objectContaining({ jobId: job.jobId }) });
      // The first poll's runner never claims it; the next poll gets it once the offer lapses, not before.
      const offeredAt = Date.now();
      const second = await lapsing.wait(runner, [], 20_000, stop.signal);
      expect(second).toEqual(first);
      expect(Date.now() - offeredAt).toBeGreaterThanOrEqual(offerMs - 50);
    } finally {
      lapsing.close();
    }
  });

  it('should offer a poll that excludes adapter types only the other jobs, and a poll that excludes none the rest', async () => {
    const companyId = company('paused');
    const runner = await runnerOf(companyId);
    const claude = await enqueue(companyId, 'a claude job');
    const codex = await store.adminJobs.enqueueJob({ companyId, agentName: 'C', prompt: 'a codex job', adapterType: 'codex_local' });
    // A runner whose claude is paused: passed over the older claude job (a job without a type is claude_local).
    const paused = await dispatcher.wait(runner, ['claude_local'], 20_000, stop.signal);
    expect(paused).toEqual({ kind: 'job', job: expect.objectContaining({ jobId: codex.jobId, adapterType: 'codex_local' }) });
    // Nothing else for it, while a poll that excludes nothing still gets the claude job.
    const idle = track(dispatcher.wait(runner, ['claude_local', 'codex_local'], 20_000, stop.signal));
    const open = await dispatcher.wait(runner, [], 20_000, stop.signal);
    expect(open).toEqual({ kind: 'job', job: expect.objectContaining({ jobId: claude.jobId, adapterType: 'claude_local' }) });
    await sleep(200);
    expect(idle.outcome).toBeUndefined();
    // A claude job queued now wakes the company's polls: it goes to no poll that excludes it.
    await enqueue(companyId, 'another claude job');
    await sleep(300);
    expect(idle.outcome).toBeUndefined();
  });

  it('should look once a second while notifications do not flow, and find what was queued meanwhile', async () => {
    const companyId = company('gap');
    const runner = await runnerOf(companyId);
    const poll = track(dispatcher.wait(runner, [], 20_000, stop.signal));
    await sleep(200);
    counting.cut();
    const job = await enqueue(companyId);
    await eventually(async () => poll.outcome, 5000);
    expect(poll.outcome).toEqual({ kind: 'job', job: expect.objectContaining({ jobId: job.jobId }) });
  });
});
