/**
 * The dashboard's job list and costs on a real database (PGlite): pages that walk the whole list without a gap
 * or a repeat, every filter, what a change sends, and costs per day in the reader's time zone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costReport, parseCostRange } from '../../src/control-plane/dashboard/costs.js';
import { pageChanges, parseJobListQuery, readJobListPage, type JobListQuery } from '../../src/control-plane/dashboard/job-list.js';
import { migrate, openDb, type Db } from '../../src/control-plane/index.js';
import { DEFAULT_MAX_JOB_EVENT_BYTES } from '../../src/control-plane/control-plane.js';
import { createStore, type Store } from '../../src/control-plane/store/index.js';

const query = (params: Record<string, string>): JobListQuery => parseJobListQuery(new URLSearchParams(params));

describe('the job list', () => {
  let db: Db;
  let store: Store;
  /** Every job of company "pages", newest first, as the list orders them. */
  let all: string[];

  beforeAll(async () => {
    db = await openDb({});
    await migrate(db);
    store = createStore(db, {
      leaseMs: 60_000,
      part1JobLimitMs: 60_000,
      tokenTtlSec: 86_400,
      maxJobEventBytes: DEFAULT_MAX_JOB_EVENT_BYTES,
    });
    const ids: string[] = [];
    for (let i = 0; i < 120; i++)
      ids.push((await store.adminJobs.enqueueJob({ companyId: 'pages', agentName: `agent ${i % 3}`, prompt: `job ${i}` })).jobId);
    all = ids.reverse();
  }, 60_000);
  afterAll(() => db.close());

  it('should walk the whole list a page at a time, older and newer, without a gap or a repeat', async () => {
    const first = await readJobListPage(db, query({ companyId: 'pages' }));
    expect(first).toMatchObject({ total: 120, offset: 0, hasNewer: false, hasOlder: true });
    expect(first.jobs.map((j) => j.jobId)).toEqual(all.slice(0, 50));
    const second = await readJobListPage(db, query({ companyId: 'pages', before: first.jobs.at(-1)!.jobId }));
    expect(second).toMatchObject({ offset: 50, hasNewer: true, hasOlder: true });
    const third = await readJobListPage(db, query({ companyId: 'pages', before: second.jobs.at(-1)!.jobId }));
    expect(third).toMatchObject({ offset: 100, hasNewer: true, hasOlder: false });
    expect([...first.jobs, ...second.jobs, ...third.jobs].map((j) => j.jobId)).toEqual(all);
    // Back up: the page newer than the third's first row is the second again.
    const back = await readJobListPage(db, query({ companyId: 'pages', after: third.jobs[0]!.jobId }));
    expect(back.jobs.map((j) => j.jobId)).toEqual(second.jobs.map((j) => j.jobId));
    const oldest = await readJobListPage(db, query({ companyId: 'pages', oldest: '1' }));
    expect(oldest).toMatchObject({ offset: 70, hasNewer: true, hasOlder: false });
    expect(oldest.jobs.map((j) => j.jobId)).toEqual(all.slice(70));
  });

  it('should filter by status, company, agent, runner, adapter, time and words, together', async () => {
    const token = await store.tokens.createToken('filters', 'box');
    const { tokenId, preview, expiresAt } = token.info;
    const runner = { tokenId, companyId: 'filters', preview, expiresAt, validUntil: Date.parse(expiresAt) };
    const codex = await store.adminJobs.enqueueJob({
      companyId: 'filters',
      agentName: 'Coder',
      prompt: 'Fix 100% of the bugs',
      adapterType: 'codex_local',
    });
    const claimed = await store.adminJobs.enqueueJob({ companyId: 'filters', agentName: 'Coder', prompt: 'Write the docs' });
    expect((await store.runnerJobs.claimJob(claimed.jobId, runner)).kind).toBe('claimed');
    const old = await store.adminJobs.enqueueJob({ companyId: 'filters', agentName: 'Archivist', prompt: 'old news' });
    await db.query(`UPDATE jobs SET created_at = now() - interval '3 days' WHERE id = $1`, [old.jobId]);
    await store.adminJobs.cancelJob(old.jobId, 'the dashboard');
    const ids = async (params: Record<string, string>) =>
      (await readJobListPage(db, query({ companyId: 'filters', ...params }))).jobs.map((j) => j.jobId);
    expect(await ids({ status: 'queued' })).toEqual([codex.jobId]);
    expect(await ids({ status: 'claimed,cancelled' })).toEqual([claimed.jobId, old.jobId]);
    expect(await ids({ agentName: 'Coder' })).toEqual([claimed.jobId, codex.jobId]);
    expect(await ids({ tokenId: token.info.tokenId })).toEqual([claimed.jobId]);
    // No adapter type is claude_local, to the list as to the runner.
    expect(await ids({ adapterType: 'claude_local' })).toEqual([claimed.jobId, old.jobId]);
    expect(await ids({ adapterType: 'codex_local' })).toEqual([codex.jobId]);
    expect(await ids({ range: '24h' })).toEqual([claimed.jobId, codex.jobId]);
    expect(await ids({ range: '7d', agentName: 'Archivist' })).toEqual([old.jobId]);
    // Words of the prompt or the agent, with % meaning itself; the start of a job id.
    expect(await ids({ q: '100%' })).toEqual([codex.jobId]);
    expect(await ids({ q: '0%' })).toEqual([codex.jobId]);
    expect(await ids({ q: '%' })).toEqual([codex.jobId]);
    expect(await ids({ q: 'archiv' })).toEqual([old.jobId]);
    expect(await ids({ q: old.jobId.slice(0, 8) })).toEqual([old.jobId]);
    expect(await ids({ q: old.jobId.toUpperCase() })).toEqual([old.jobId]);
    const page = await readJobListPage(db, query({ companyId: 'filters' }));
    expect(page.running).toBe(1);
    expect(page.jobs.find((j) => j.jobId === old.jobId)).not.toHaveProperty('prompt');
  });

  it('should say what is wrong with a filter', () => {
    expect(() => query({ limit: '0' })).toThrow(/limit must be an integer from 1 to 200/);
    expect(() => query({ status: 'running' })).toThrow(/status must be one of/);
    expect(() => query({ range: '2y' })).toThrow(/range must be one of 1h, 24h, 7d, 30d/);
    expect(() => query({ before: all[0]!, after: all[1]! })).toThrow(/one of before, after and oldest=1/);
    expect(() => query({ before: 'x' })).toThrow(/A job id is a UUID/);
    expect(() => query({ q: 'x'.repeat(201) })).toThrow(/longer than 200/);
  });

  it('should send only the rows that changed, and nothing when nothing did', async () => {
    const page = await readJobListPage(db, query({ companyId: 'pages', limit: '3' }));
    const sent = pageChanges({ rows: new Map(), order: '', position: '' }, page)!;
    expect(sent.changes.upsert).toHaveLength(3);
    expect(pageChanges(sent.next, page)).toBeUndefined();
    await store.adminJobs.cancelJob(page.jobs[1]!.jobId, 'the admin API');
    const changed = pageChanges(sent.next, await readJobListPage(db, query({ companyId: 'pages', limit: '3' })))!;
    expect(changed.changes.upsert.map((j) => [j.jobId, j.status])).toEqual([[page.jobs[1]!.jobId, 'cancelled']]);
    expect(changed.changes.order).toEqual(page.jobs.map((j) => j.jobId));
  });
});

describe('costs per day', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb({});
    await migrate(db);
    const store = createStore(db, {
      leaseMs: 60_000,
      part1JobLimitMs: 60_000,
      tokenTtlSec: 86_400,
      maxJobEventBytes: DEFAULT_MAX_JOB_EVENT_BYTES,
    });
    const finish = async (companyId: string, at: string, status: string, cost: number) => {
      const job = await store.adminJobs.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      await db.query(`UPDATE jobs SET status = $2, completed_at = $3::timestamptz, cost_micros = $4, elapsed_sec = 10 WHERE id = $1`, [
        job.jobId,
        status,
        at,
        cost,
      ]);
    };
    await finish('acme', '2026-03-01T23:30:00Z', 'completed', 1_000_000);
    await finish('acme', '2026-03-02T00:30:00Z', 'failed', 250_000);
    await finish('globex', '2026-03-02T12:00:00Z', 'completed', 500_000);
    await finish('globex', '2026-04-01T12:00:00Z', 'completed', 9_000_000);
  }, 60_000);
  afterAll(() => db.close());

  it("should total each day of the range, days without jobs included, in the reader's time zone", async () => {
    const utc = await costReport(db, parseCostRange(new URLSearchParams({ from: '2026-03-01', to: '2026-03-03' })));
    expect(utc.days).toEqual([
      { day: '2026-03-01', jobs: 1, failed: 0, costMicros: 1_000_000, elapsedSec: 10 },
      { day: '2026-03-02', jobs: 2, failed: 1, costMicros: 750_000, elapsedSec: 20 },
      { day: '2026-03-03', jobs: 0, failed: 0, costMicros: 0, elapsedSec: 0 },
    ]);
    expect(utc.companies.map((c) => [c.companyId, c.costMicros])).toEqual([
      ['acme', 1_250_000],
      ['globex', 500_000],
    ]);
    // An hour east of UTC, the job that ended at 23:30 UTC ended on the 2nd.
    const east = await costReport(db, parseCostRange(new URLSearchParams({ from: '2026-03-01', to: '2026-03-02', tzOffsetMin: '60' })));
    expect(east.days.map((d) => [d.day, d.jobs])).toEqual([
      ['2026-03-01', 0],
      ['2026-03-02', 3],
    ]);
  });

  it('should refuse a range that is not one', () => {
    const range = (params: Record<string, string>) => () => parseCostRange(new URLSearchParams(params));
    expect(range({ from: '2026-03-02', to: '2026-03-01' })).toThrow(/ends \(2026-03-01\) before it starts/);
    expect(range({ from: '2025-01-01', to: '2026-03-01' })).toThrow(/at most 366 days/);
    expect(range({ from: '2026-02-30', to: '2026-03-01' })).toThrow(/from must be a day as YYYY-MM-DD/);
    expect(range({ from: '2026-03-01', to: '2026-03-01', tzOffsetMin: '9999' })).toThrow(/tzOffsetMin/);
  });
});
