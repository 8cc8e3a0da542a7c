/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
/**
 * The jobs list with 5,000 jobs, in a real Chromium: every job reachable a page at a time, filters and a search
 * kept in the URL, failed rows saying why, times relative, keys to move and open, and new jobs arriving live. How
 * long the first page takes to show is printed (measured, not asserted: the machine is shared).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDb, startControlPlane, type ControlPlane } from '../../src/control-plane/index.js';
import { browserAvailable, launchBrowser, logIn } from './browser.js';

const ADMIN_KEY = 'fosadmin_JobsPageTestKey0123456789abcdefghijklmno';
const JOBS = 5_000;

/**
 * 5,000 jobs straight into the database, the newest first in `i`, one a minute back in time: four companies, five
 * agents, three adapters; every 10th failed (with a two-line error), every 7th of the rest cancelled.
 */
async function seed(dataDir: string): Promise<void> {
  const db = await openDb({ pgliteDir: join(dataDir, 'pglite') });
  try {
    await migrate(db);
    await db.query(
      `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash, adapter_type, status, created_at,
                         completed_at, exit_code, error_message, elapsed_sec, cost_micros)
       SELECT gen_random_uuid(), (ARRAY['acme', 'globex', 'initech', 'umbrella'])[i % 4 + 1], 'agent-' || (i % 5),
              'Agent ' || (i % 5), 'Prompt number ' || i, md5(i::text), (ARRAY[NULL, 'codex_local', 'gemini_local'])[i % 3 + 1],
              CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 7 = 0 THEN 'cancelled' ELSE 'queued' END,
              now() - i * interval '1 minute',
              CASE WHEN i % 10 = 0 OR i % 7 = 0 THEN now() - i * interval '1 minute' + interval '30 seconds' END,
              CASE WHEN i % 10 = 0 THEN 1 END,
              CASE WHEN i % 10 = 0 THEN 'boom: the agent failed on job ' || i || E'\\nsecond line of the error' END,
              CASE WHEN i % 10 = 0 THEN 30 END, CASE WHEN i % 10 = 0 THEN 12345 END
         FROM generate_series(0, $1::integer - 1) AS i`,
      [JOBS],
    );
  } finally {
    await db.close();
  }
}

describe.skipIf(!browserAvailable())('the jobs list', () => {
  let plane: ControlPlane;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const count = () => page.locator('.pager .count').first().textContent();

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fos-jobs-page-'));
    await seed(dataDir);
    plane = await startControlPlane({ adminKey: ADMIN_KEY, dataDir });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await plane?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await logIn(page, plane.url, ADMIN_KEY);
    await page.locator('tr[data-job-id]').first().waitFor();
  });
  afterEach(() => context.close());

  it('shows the first page of 5,000 jobs, and reaches every one of them a page at a time', async () => {
    // The first page, opened afresh: how long until its rows are on screen (printed, not asserted).
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('about:blank');
      const started = Date.now();
      await page.goto(`${plane.url}/#/jobs`);
      await page.locator('tr[data-job-id]').nth(49).waitFor();
      times.push(Date.now() - started);
    }
    process.stdout.write(
      `jobs list: the first page of ${JOBS} jobs rendered in ${times.join(', ')} ms (median ${times.sort((a, b) => a - b)[2]} ms)\n`,
    );
    expect(await count()).toBe('1–50 of 5,000 jobs');
    expect(await page.locator('tr[data-job-id]').count()).toBe(50);
    expect(await page.locator('tr[data-job-id] td.job a').first().textContent()).toBe('Agent 0');
    // The last page: the oldest job of all.
    await page.getByRole('link', { name: 'Oldest »' }).first().click();
    await expect.poll(count).toBe('4,951–5,000 of 5,000 jobs');
    expect(await page.locator('tr[data-job-id] .why').last().textContent()).toBe('Prompt number 4999');
    await page.getByRole('link', { name: '‹ Newer' }).first().click();
    await expect.poll(count).toBe('4,901–4,950 of 5,000 jobs');
    await page.getByRole('link', { name: '« Newest' }).first().click();
    await expect.poll(count).toBe('1–50 of 5,000 jobs');
    const seen = new Set<string>();
    for (let p = 0; p < 3; p++) {
      for (const id of await page.locator('tr[data-job-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id')!)))
        seen.add(id);
      await page.getByRole('link', { name: 'Older ›' }).first().click();
      await expect.poll(count).toBe(`${(p + 1) * 50 + 1}–${(p + 2) * 50} of 5,000 jobs`);
    }
    expect(seen.size).toBe(150);
    // The URL holds the page: a reload shows the same one.
    await page.reload();
    await expect.poll(count).toBe('151–200 of 5,000 jobs');
  });

  it('filters by status, company, agent, adapter, time and words, all kept in the URL', async () => {
    const filters = page.getByRole('search', { name: 'Filter the jobs' });
    await filters.getByLabel('Status').selectOption('failed');
    await expect.poll(count).toBe('1–50 of 500 jobs');
    await filters.getByLabel('Company').selectOption('acme');
    await filters.getByLabel('Agent').selectOption('Agent 0');
    await expect.poll(count).toBe('1–50 of 250 jobs');
    await filters.getByLabel('Adapter').selectOption('codex_local');
    await expect.poll(count).toBe('1–50 of 83 jobs');
    await filters.getByLabel('Queued').selectOption('24h');
    await expect.poll(count).toBe('1–24 of 24 jobs');
    await filters.getByLabel('Search').fill('number 1420');
    await expect.poll(count).toBe('1–1 of 1 job');
    const url = new URL(page.url());
    expect(Object.fromEntries(new URLSearchParams(url.hash.split('?')[1]))).toEqual({
      status: 'failed',
      company: 'acme',
      agent: 'Agent 0',
      adapter: 'codex_local',
      range: '24h',
      q: 'number 1420',
    });
    // A failed row says why: the first line of its error.
    expect(await page.locator('tr[data-job-id] .why').textContent()).toBe('boom: the agent failed on job 1420');
    await page.reload();
    await expect.poll(count).toBe('1–1 of 1 job');
    expect(await filters.getByLabel('Search').inputValue()).toBe('number 1420');
    // A job id's start finds the job.
    const jobId = (await page.locator('tr[data-job-id]').getAttribute('data-job-id'))!;
    await page.getByRole('link', { name: 'Clear filters' }).click();
    await expect.poll(count).toBe('1–50 of 5,000 jobs');
    await filters.getByLabel('Search').fill(jobId.slice(0, 8));
    await expect.poll(count).toBe('1–1 of 1 job');
    expect(await page.locator('tr[data-job-id]').getAttribute('data-job-id')).toBe(jobId);
  }, 90_000);

  it('reads times as "ago", with the full date on hover, and run times beside them', async () => {
    const when = page.locator('tr[data-job-id] td.when time');
    expect(await when.nth(3).textContent()).toBe('3 min ago');
    expect(await when.nth(3).getAttribute('title')).toMatch(/\d{4}/);
    const failed = page.locator('tr[data-status="failed"]').first();
    expect(await failed.locator('td[data-label="Run time"]').textContent()).toBe('30 s');
  });

  it('moves down and up the rows with j and k, opens one with o, and goes on to the next job from its page', async () => {
    const ids = await page.locator('tr[data-job-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id')!));
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    expect(await page.locator('tr.selected').getAttribute('data-job-id')).toBe(ids[2]);
    await page.keyboard.press('o');
    await expect.poll(() => page.url()).toContain(`#/jobs/${ids[2]}`);
    await page.locator('.job-head h1').waitFor();
    await page.keyboard.press('j');
    await expect.poll(() => page.url()).toContain(`#/jobs/${ids[3]}`);
    await page.keyboard.press('k');
    await page.keyboard.press('k');
    await expect.poll(() => page.url()).toContain(`#/jobs/${ids[1]}`);
  });

  it('shows a new job at the top as it is queued, and asks before it cancels one', async () => {
    const job = await plane.admin.enqueueJob({ companyId: 'acme', agentName: 'Newcomer', prompt: 'just queued' });
    await page.locator(`tr[data-job-id="${job.jobId}"]`).waitFor({ timeout: 5_000 });
    expect(await page.locator('tr[data-job-id]').first().getAttribute('data-job-id')).toBe(job.jobId);
    await expect.poll(count).toBe('1–50 of 5,001 jobs');
    const row = page.locator(`tr[data-job-id="${job.jobId}"]`);
    await row.getByRole('button', { name: 'Cancel', exact: true }).click();
    expect((await plane.admin.getJob(job.jobId)).status).toBe('queued');
    await row.getByRole('button', { name: 'Yes, cancel' }).click();
    await row.locator('.badge[data-status="cancelled"]').waitFor();
    expect((await plane.admin.getJob(job.jobId)).cancelledBy).toBe('the dashboard');
  });

  it('starts the list at once in a browser that was logged in, and still asks for the key once the session ended', async () => {
    await page.reload();
    await page.locator('tr[data-job-id]').first().waitFor();
    // The session ends (logged out elsewhere, expired): the page goes back to the login form, whatever it showed.
    await context.clearCookies();
    await page.reload();
    await page.getByLabel('Admin key').waitFor();
    expect(await page.locator('tr[data-job-id]').count()).toBe(0);
  });
});
