/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
/**
 * The job page as a log viewer, in a real Chromium against a real control plane: steps with their durations and
 * colours, folded long output, times, the live tail in view on a desktop and on a phone, links to lines, search,
 * a Cancel that asks, and the honest states (no runner, cancelled, the server gone).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sampleTranscript } from '../../scripts/sample-transcript.mjs';
import { startControlPlane, type ControlPlane } from '../../src/control-plane/index.js';
import { OUTPUT_HEAD_LINES, OUTPUT_TAIL_LINES } from '../../src/ui/transcript-window.js';
import { browserAvailable, launchBrowser, logIn, openPage } from './browser.js';
import { play, post, type Script } from './play.js';

const ADMIN_KEY = 'fosadmin_JobPageTestKey0123456789abcdefghijklmnop';
const DONE = { status: 'completed', exitCode: 0, elapsedSec: 12.9, costMicros: 91_200 };
/** Output lines the runner prints while a test watches: enough to overflow any screen. */
const lines = (count: number, from = 0): Script =>
  Array.from({ length: count }, (_, i) => ['stdout_line', `\u001b[36mbuild\u001b[39m line ${from + i}`, i * 10]);

describe.skipIf(!browserAvailable())('the job page', () => {
  let plane: ControlPlane;
  let browser: Browser;
  let context: BrowserContext;

  const open = async (hash: string, target?: BrowserContext): Promise<Page> => {
    const { page } = await openPage(target ?? context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.goto(`${plane.url}/${hash}`);
    return page;
  };
  const company = () => `co-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    plane = await startControlPlane({ adminKey: ADMIN_KEY, longPollMs: 5_000, leaseMs: 10 * 60_000 });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await plane?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  });
  afterEach(async () => {
    await context.close();
  });

  it('shows a coloured 200-line tool result in colour, folded between its first and last lines, in a step with its duration', async () => {
    const job = await play(plane, company(), sampleTranscript({ session: randomUUID() }), { complete: DONE });
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.r-end').waitFor();
    // The failing run of the tests: one step, opened because it failed, with what it ran and how long it took.
    const failing = page.locator('.step', { has: page.locator('.o-failed') }).first();
    expect(await failing.locator('.step-name').textContent()).toBe('Bash');
    expect(await failing.locator('.step-summary').textContent()).toBe('npm test');
    expect(await failing.locator('.dur').textContent()).toBe('3.0 s');
    expect(await failing.locator('.step-head').getAttribute('aria-expanded')).toBe('true');
    // Its 198 lines: the first and the last shown, in colour, never as escape codes; the rest folded between.
    const shown = failing.locator('.output .line');
    expect(await shown.count()).toBe(OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES);
    expect(await failing.locator('.output').textContent()).not.toContain('\u001b');
    expect(await failing.locator('.line[data-line="3"] .a-fg2').textContent()).toBe('✓');
    expect(await failing.locator('.line[data-line="196"] .a-fg1').first().textContent()).toBe('1 failed');
    await failing.getByRole('button', { name: /Show 178 more lines/ }).click();
    expect(await shown.count()).toBe(198);
    // A call and its result are one row; the passing steps stay closed until opened.
    expect(await page.locator('.step').count()).toBe(4);
    const read = page.locator('.step', { hasText: 'Read' });
    expect(await read.locator('.step-head').getAttribute('aria-expanded')).toBe('false');
    await read.locator('.step-head').click();
    expect(await read.locator('.output .line').count()).toBe(OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES);
    await read.getByRole('button', { name: 'Show 20 more lines' }).click();
    expect(await read.locator('.output .line').count()).toBe(40);
    // The raw view shows the same colours.
    await page.getByRole('link', { name: 'Raw' }).click();
    await page.locator('.transcript.raw .r-raw').first().waitFor();
    // Neither the escape character nor JSON's way of writing it (\u001b) shows; the colours do.
    const raw = (await page.locator('.transcript.raw').textContent())!;
    expect(raw).not.toContain('\u001b');
    expect(raw).not.toContain('\\u001b');
    expect(await page.locator('.transcript.raw .a-fg2').count()).toBeGreaterThan(100);
  });

  it('gives every row a time since the start, or by the clock, with the full date on hover', async () => {
    const start = Date.now() - 20_000;
    const job = await play(plane, company(), sampleTranscript({ session: randomUUID() }), { complete: DONE, startMs: start });
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.r-end').waitFor();
    const times = await page.locator('.row .ts').allTextContents();
    expect(times.length).toBeGreaterThan(8);
    expect(times.every((t) => /^\+\d+:\d\d$/.test(t))).toBe(true);
    expect(times.slice(0, 3)).toEqual(['+0:00', '+0:00', '+0:01']);
    expect(await page.locator('.row .ts').first().getAttribute('title')).toMatch(/\d{4}.*: link to this event/);
    await page.getByRole('button', { name: 'Since start' }).click();
    expect((await page.locator('.row .ts').allTextContents()).every((t) => /^\d\d:\d\d:\d\d$/.test(t))).toBe(true);
    // The choice is kept.
    await page.reload();
    await page.getByRole('button', { name: 'Clock time' }).waitFor();
  });

  for (const viewport of [
    { width: 1440, height: 900 },
    { width: 390, height: 844 },
  ]) {
    it(`keeps the newest line of a running job on screen at ${viewport.width}×${viewport.height}, without scrolling the page`, async () => {
      const phone = await browser.newContext({ viewport });
      try {
        const job = await play(plane, company(), lines(300));
        const page = await open(`#/jobs/${job.jobId}`, phone);
        const newest = async () =>
          page.evaluate(() => {
            const rows = document.querySelectorAll('.transcript .row');
            const rect = rows[rows.length - 1]!.getBoundingClientRect();
            return {
              text: rows[rows.length - 1]!.textContent,
              top: rect.top,
              bottom: rect.bottom,
              height: innerHeight,
              pageScrolls: document.documentElement.scrollHeight > innerHeight,
              scrollY,
            };
          });
        await page.locator('.row', { hasText: 'line 299' }).waitFor();
        await expect.poll(async () => (await newest()).text).toContain('line 299');
        let seen = await newest();
        expect(seen.pageScrolls).toBe(false);
        expect(seen.scrollY).toBe(0);
        expect(seen.top).toBeGreaterThan(0);
        expect(seen.bottom).toBeLessThanOrEqual(seen.height);
        // New lines arrive: the newest is still in view.
        await post(job.runner, job.jobId, lines(50, 300), Date.now(), 300);
        await expect.poll(async () => (await newest()).text).toContain('line 349');
        seen = await newest();
        expect(seen.bottom).toBeLessThanOrEqual(seen.height);
        // Scrolling up stops following; new lines then stay below, and a button (or `f`) goes back to the end.
        await page.locator('.transcript').evaluate((el) => el.scrollTo(0, 0));
        await expect.poll(() => page.locator('.transcript').getAttribute('data-follow')).toBe('no');
        await post(job.runner, job.jobId, lines(5, 350), Date.now(), 350);
        await page.locator('.row', { hasText: 'line 354' }).waitFor({ state: 'attached' });
        expect((await newest()).top).toBeGreaterThan(viewport.height);
        await page.getByRole('button', { name: /Follow the end/ }).click();
        await expect.poll(async () => (await newest()).bottom <= viewport.height).toBe(true);
      } finally {
        await phone.close();
      }
    });
  }

  it('links to any line of a tool result: clicked, copied, and opened elsewhere at that line', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const job = await play(plane, company(), sampleTranscript({ session: randomUUID() }), { complete: DONE });
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.r-end').waitFor();
    const failing = page.locator('.step', { has: page.locator('.o-failed') }).first();
    await failing.locator('.line[data-line="194"] .ln').click();
    await expect.poll(() => page.url()).toContain('line=194');
    await page.locator('.line.target[data-line="194"]').waitFor();
    await page.getByRole('button', { name: 'Copy link to line' }).click();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    expect(link).toBe(page.url());
    // A line the fold hides, opened from a link in another tab: the step opens, unfolded, and the line is in view.
    const folded = link.replace('line=194', 'line=100');
    const other = await context.newPage();
    await other.goto(folded);
    const line = other.locator('.line.target[data-line="100"]');
    await line.waitFor();
    await expect
      .poll(() =>
        line.evaluate((el) => {
          const rect = el.getBoundingClientRect();
          return rect.top >= 0 && rect.bottom <= innerHeight;
        }),
      )
      .toBe(true);
    expect(await line.textContent()).toContain('lexer case 98');
  });

  it('marks every match of a search, counts them, and goes to the next and the previous one', async () => {
    const job = await play(plane, company(), sampleTranscript({ session: randomUUID() }), { complete: DONE });
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.r-end').waitFor();
    const rowsBefore = await page.locator('.transcript .row').count();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Search the transcript');
    await page.keyboard.type('cli case 186');
    // "cli case 186" is in both runs of the tests: two matches, both marked; nothing hidden.
    const count = page.locator('.match-count');
    await expect.poll(() => count.textContent()).toBe('1 of 2');
    expect(await page.locator('.transcript mark').count()).toBe(2);
    expect(await page.locator('.transcript .row').count()).toBe(rowsBefore);
    const current = () => page.locator('mark.current').evaluate((el) => el.closest('.step')!.querySelector('.step-input')!.textContent);
    expect(await current()).toContain('Run the tests');
    await page.keyboard.press('Enter');
    await expect.poll(() => count.textContent()).toBe('2 of 2');
    expect(await current()).toContain('Run the tests again');
    await page.getByRole('button', { name: 'Previous match' }).click();
    await expect.poll(() => count.textContent()).toBe('1 of 2');
    // The current match is on screen, and a match across two colours is still one match.
    expect(await page.locator('mark.current').evaluate((el) => el.getBoundingClientRect().top < innerHeight)).toBe(true);
    await page.getByLabel('Search the transcript').fill('✓ test/cli');
    await expect.poll(() => count.textContent()).toMatch(/^1 of \d+$/);
    await page.getByLabel('Search the transcript').fill('no such words');
    await expect.poll(() => count.textContent()).toBe('No matches');
  });

  it('has one tab stop for a transcript of output lines, and one per step more', async () => {
    const plain = await play(plane, company(), lines(300), { complete: DONE });
    const page = await open(`#/jobs/${plain.jobId}`);
    await page.locator('.r-end').waitFor();
    const tabStops = () =>
      page
        .locator('.transcript')
        .evaluate(
          (el) =>
            [el, ...Array.from(el.querySelectorAll('a, button, input, [tabindex]'))].filter((node) => (node as HTMLElement).tabIndex >= 0)
              .length,
        );
    expect(await tabStops()).toBe(1);
    const steps = await play(plane, company(), sampleTranscript({ session: randomUUID() }), { complete: DONE });
    await page.goto(`${plane.url}/#/jobs/${steps.jobId}`);
    await page.locator('.r-end').waitFor();
    // The scroller, four steps, and the open step's fold.
    expect(await tabStops()).toBe(1 + 4 + 1);
    expect(await page.locator('.transcript a:not([aria-label]):not([title])').count()).toBe(0);
  });

  it('asks before it cancels a job, then says in the header and as the last entry that it was cancelled and when', async () => {
    const job = await play(plane, company(), lines(3));
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.row', { hasText: 'line 2' }).waitFor();
    const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    await cancel.click();
    // Nothing happened yet: the question has the focus, and "keep" backs out.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Yes, cancel this job');
    expect((await plane.admin.getJob(job.jobId)).status).toBe('streaming');
    await page.getByRole('button', { name: 'Keep it running' }).click();
    await cancel.click();
    await page.keyboard.press('Escape');
    await cancel.click();
    await page.getByRole('button', { name: 'Yes, cancel this job' }).click();
    await page.locator('.job-head .badge[data-status="cancelled"]').waitFor();
    expect((await plane.admin.getJob(job.jobId)).status).toBe('cancelled');
    await expect
      .poll(() => page.locator('[data-notice="cancelled"]').textContent())
      .toMatch(/^Cancelled by the dashboard (just now|\d+ s ago)/);
    await expect.poll(() => page.locator('.transcript .row').last().textContent()).toMatch(/Cancelled by the dashboard at \d\d:\d\d:\d\d/);
    await expect.poll(() => page.title()).toContain('cancelled');
  });

  it('says when no runner of its company can take a queued job, and which ones could', async () => {
    const nobody = company();
    const job = await plane.admin.enqueueJob({ companyId: nobody, agentName: 'Waiting', prompt: 'x' });
    const page = await open(`#/jobs/${job.jobId}`);
    const notice = page.locator('[data-notice="no-runner"]');
    await expect.poll(() => notice.textContent()).toContain(`company ${nobody} has no runner token`);
    await plane.admin.createToken({ companyId: nobody, name: 'idle box' });
    await expect.poll(() => notice.textContent(), { timeout: 10_000 }).toContain('idle box (never seen)');
    expect(await page.title()).toMatch(/Waiting · queued/);
  });

  it('shows a link to a job that cannot exist as an error, not as a blank page', async () => {
    const watched = await openPage(context);
    await logIn(watched.page, plane.url, ADMIN_KEY);
    await watched.page.goto(`${plane.url}/#/jobs/%`);
    await watched.page.getByRole('alert').waitFor();
    expect(await watched.page.getByRole('link', { name: 'Back to the jobs' }).count()).toBe(1);
    expect(watched.pageErrors).toEqual([]);
  });

  it('says prominently when the server is gone, stops its clocks and turns every action off until it is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fos-ui-gone-'));
    let own = await startControlPlane({ adminKey: ADMIN_KEY, dataDir, leaseMs: 10 * 60_000 });
    const port = new URL(own.url).port;
    try {
      const job = await play(own, company(), lines(3));
      const { page } = await openPage(context);
      await logIn(page, own.url, ADMIN_KEY);
      await page.goto(`${own.url}/#/jobs/${job.jobId}`);
      await page.locator('.stream.s-live').waitFor();
      const runTime = () => page.locator('.job-facts span[title="Running for"]').textContent();
      await own.close();
      await page.getByRole('alert').filter({ hasText: 'The server is not answering' }).waitFor({ timeout: 10_000 });
      expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Run again' }).isDisabled()).toBe(true);
      const stopped = await runTime();
      await page.waitForTimeout(2_500);
      expect(await runTime()).toBe(stopped);
      // Back on the same address: the banner goes, the actions come back, the stream goes on.
      own = await startControlPlane({ adminKey: ADMIN_KEY, dataDir, port: Number(port), leaseMs: 10 * 60_000 });
      await page.locator('.banner').waitFor({ state: 'detached', timeout: 15_000 });
      expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(false);
      await post(job.runner, job.jobId, lines(1, 3), Date.now(), 3);
      await page.locator('.row', { hasText: 'line 3' }).waitFor({ timeout: 10_000 });
      expect(await runTime()).not.toBe(stopped);
    } finally {
      await own.close();
    }
  });

  it('announces new lines politely while following, and names the job and its status in the tab title', async () => {
    const job = await play(plane, company(), lines(2), { agentName: 'Announcer' });
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.row', { hasText: 'line 1' }).waitFor();
    expect(await page.title()).toBe('▶ Announcer · streaming · FounderOS runner');
    await post(job.runner, job.jobId, [['stdout_line', 'the newest line', 0]], Date.now(), 2);
    const live = page.locator('[aria-live="polite"]');
    await expect.poll(() => live.textContent(), { timeout: 10_000 }).toContain('the newest line');
    await job.runner.complete(job.jobId, DONE);
    await expect.poll(() => page.title()).toBe('✓ Announcer · completed · FounderOS runner');
  });

  it('holds a transcript larger than its budget a part at a time, and loads the rest again from the server', async () => {
    // 2,500 lines of 12 KB: 30 MB, more than the page holds (24 MiB), in three of the server's pages.
    const filler = 'x'.repeat(12_000);
    const job = await play(
      plane,
      company(),
      Array.from({ length: 2_500 }, (_, i): Script[number] => ['stdout_line', `line ${i} ${filler}`, i]),
      { complete: DONE },
    );
    const page = await open(`#/jobs/${job.jobId}`);
    await page.locator('.stream.s-ended').waitFor({ timeout: 120_000 });
    await expect.poll(() => page.locator('.row', { hasText: 'line 2499 ' }).count()).toBe(1);
    expect(await page.locator('[data-loading]').count()).toBe(0);
    // The first pages were let go: after the rows held, the rest is asked for again, and comes back in order.
    const showEarlier = page.getByRole('button', { name: /Show earlier/ });
    while ((await showEarlier.count()) > 0) await showEarlier.click();
    const reload = page.getByRole('button', { name: /Load earlier events from the server \([\d,]+ not held\)/ });
    await reload.waitFor();
    const notHeld = Number(/\(([\d,]+) not held\)/.exec((await reload.textContent())!)![1]!.replaceAll(',', ''));
    expect(notHeld).toBeGreaterThanOrEqual(1_000);
    await reload.click();
    const firstShown = () => page.locator('.transcript .row').first().textContent();
    await expect.poll(firstShown, { timeout: 30_000 }).not.toContain(`line ${notHeld} `);
    const ids = await page
      .locator('.transcript .row[data-event-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-id')));
    const sent = job.events.map((e) => e.eventId);
    const from = sent.indexOf(ids[0]!);
    expect(ids).toEqual(sent.slice(from, from + ids.length));
  }, 180_000);
});
