/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane, type StoredEvent } from '../../src/control-plane/index.js';
import { RunnerHttp } from '../control-plane/helpers.js';
import { processesOfJob } from '../../src/streams/orphans.js';
import { FAKE_CLAUDE, RunnerProcess, isAlive, until } from '../support/runner-process.js';
import { storedEvents } from '../support/store-checks.js';
import { browserAvailable, launchBrowser, logIn, openPage } from './browser.js';
import { startCutProxy } from './cut-proxy.js';
import { INITIAL_WINDOW, LOAD_MORE } from '../../src/ui/transcript-window.js';

/**
 * The dashboard as a person uses it: a real control plane (PGlite), real runners (the built CLI) running the demo
 * agent, and a real headless Chromium. Each test checks what a person would see.
 */
const DEMO_AGENT = fileURLToPath(new URL('../../dist/demo/demo-agent.js', import.meta.url));
const ADMIN_KEY = 'fosadmin_BrowserTestKey0123456789abcdefghijklmnop';
const COMPANY = 'acme';
/** The demo agent prints one line per step: slow enough to watch a job mid-run. */
const STEP_MS = 600;

describe.skipIf(!browserAvailable())('the web dashboard in a real browser', () => {
  let plane: ControlPlane;
  let browser: Browser;
  let context: BrowserContext;
  const runners: RunnerProcess[] = [];

  const startRunner = (token: string, env: NodeJS.ProcessEnv = {}) => {
    const runner = new RunnerProcess(['start', `--server-url=${plane.url}`, '--concurrency=4'], {
      FOUNDEROS_RUNNER_TOKEN: token,
      FOUNDEROS_CLAUDE_BIN: DEMO_AGENT,
      FOUNDEROS_DEMO_AGENT_STEP_MS: String(STEP_MS),
      ...env,
    });
    runners.push(runner);
    return runner;
  };
  const enqueue = (prompt: string, companyId = COMPANY) =>
    plane.admin.enqueueJob({ companyId, agentName: 'Demo agent', prompt, adapterType: 'claude_local' });
  const allEvents = (jobId: string): Promise<StoredEvent[]> => storedEvents(plane.admin, jobId);
  const waitForStatus = (jobId: string, statuses: string[], timeoutMs = 20_000) =>
    until(
      async () => statuses.includes((await plane.admin.getJob(jobId)).status),
      timeoutMs,
      () => `job ${jobId} never became ${statuses.join('|')}`,
    );
  const rowIds = (page: Page) =>
    page.locator('.transcript [data-event-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event-id')));

  beforeAll(async () => {
    plane = await startControlPlane({ adminKey: ADMIN_KEY, longPollMs: 5_000 });
    const { token } = await plane.admin.createToken({ companyId: COMPANY, name: 'demo runner' });
    startRunner(token);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(runners.map((runner) => runner.stop()));
    await plane?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext();
  });
  afterEach(async (test) => {
    if (test.task.result?.state === 'fail') for (const runner of runners) process.stderr.write(`runner output:\n${runner.stderr}\n`);
    await context.close();
  });

  it('1. shows an event the runner posts on an open job page within 1 s', async () => {
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    const job = await enqueue('Say hello.');
    await page.goto(`${plane.url}/#/jobs/${job.jobId}`);
    await page.locator('.transcript').waitFor();
    // The page notes when each event's row appears; the runner stamped when it read the line.
    const watchingSince = await page.evaluate(() => {
      const seen: Record<string, number> = ((window as unknown as { __seenAt: Record<string, number> }).__seenAt = {});
      const mark = () =>
        // A step's row shows its call's event and its result's.
        document.querySelectorAll('[data-events]').forEach((row) => {
          for (const id of row.getAttribute('data-events')!.split(' ')) seen[id] ??= Date.now();
        });
      mark();
      new MutationObserver(mark).observe(document.body, { childList: true, subtree: true });
      return Date.now();
    });
    await waitForStatus(job.jobId, ['completed']);
    await page.locator('.badge[data-status="completed"]').first().waitFor();
    const seenAt = await page.evaluate(() => (window as unknown as { __seenAt: Record<string, number> }).__seenAt);
    const events = await allEvents(job.jobId);
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(events.every((event) => seenAt[event.eventId] !== undefined)).toBe(true);
    // Every event read after the page was watching must show within 1 s of the runner reading it.
    const fresh = events.filter((event) => Date.parse(event.ts) > watchingSince);
    expect(fresh.length).toBeGreaterThanOrEqual(4);
    const delays = fresh.map((event) => seenAt[event.eventId]! - Date.parse(event.ts));
    expect(Math.max(...delays)).toBeLessThan(1000);

    // The transcript downloads as JSONL, every event once, in order.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download JSONL' }).click()]);
    expect(download.suggestedFilename()).toBe(`job-${job.jobId}.jsonl`);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((line) => (JSON.parse(line) as StoredEvent).eventId)).toEqual(events.map((event) => event.eventId));

    // Run again: a new job with the same prompt, opened at once, run by the same kind of runner.
    await page.getByRole('button', { name: 'Run again' }).click();
    await expect.poll(() => page.url()).not.toContain(job.jobId);
    const againId = /#\/jobs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(await plane.admin.getJob(againId)).toMatchObject({ prompt: 'Say hello.', companyId: COMPANY, agentName: 'Demo agent' });
    await page.locator('.job-head .badge[data-status="completed"]').waitFor({ timeout: 20_000 });
  });

  it('2. shows the earlier events of a job opened mid-run, then the new ones; a cut connection loses and repeats nothing', async () => {
    const proxy = await startCutProxy(plane.url);
    try {
      const { page } = await openPage(context);
      await logIn(page, proxy.url, ADMIN_KEY);
      const job = await enqueue('Tell me a story.');
      await until(
        async () => (await allEvents(job.jobId)).length >= 2,
        15_000,
        () => 'the job never got 2 events',
      );
      const earlier = (await allEvents(job.jobId)).map((event) => event.eventId);
      // The raw view: one row per event, so every event can be checked.
      await page.goto(`${proxy.url}/#/jobs/${job.jobId}?mode=raw`);
      await until(
        async () => (await rowIds(page)).length >= earlier.length,
        5_000,
        () => 'the earlier events never showed',
      );
      expect((await rowIds(page)).slice(0, earlier.length)).toEqual(earlier);

      // Cut the stream while the agent keeps talking; the browser reconnects with Last-Event-ID.
      proxy.cut(1_500);
      expect(proxy.cuts).toBe(1);
      await page.locator('.stream.s-reconnecting').waitFor({ timeout: 5_000 });
      await waitForStatus(job.jobId, ['completed']);
      await page.locator('.stream.s-ended').waitFor({ timeout: 10_000 });
      const all = (await allEvents(job.jobId)).map((event) => event.eventId);
      expect(all.length).toBeGreaterThan(earlier.length + 1);
      expect(await rowIds(page)).toEqual(all);
    } finally {
      await proxy.close();
    }
  });

  it('3. Cancel in the page stops the agent and its children, and the job shows cancelled', async () => {
    const { token } = await plane.admin.createToken({ companyId: 'hang-co', name: 'hanging runner' });
    startRunner(token, { FOUNDEROS_CLAUDE_BIN: FAKE_CLAUDE });
    const job = await enqueue(JSON.stringify({ mode: 'hang', ignoreTerm: true }), 'hang-co');
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.goto(`${plane.url}/#/jobs/${job.jobId}`);
    await page.locator('.transcript [data-event-id]').first().waitFor({ timeout: 20_000 });
    // The agent and its grandchild (and bwrap's two in the sandbox), found by the job's marker: in the sandbox the agent
    // knows only its namespace's pids.
    const pids = processesOfJob(job.jobId);
    expect(pids.length).toBeGreaterThanOrEqual(2);

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('button', { name: 'Yes, cancel this job' }).click();
    await page.locator('.job-head .badge[data-status="cancelled"]').waitFor({ timeout: 5_000 });
    await until(
      () => !pids.some(isAlive) && processesOfJob(job.jobId).length === 0,
      10_000,
      () => `a process of the job still runs: ${processesOfJob(job.jobId).join(', ')}`,
    );
    expect((await plane.admin.getJob(job.jobId)).status).toBe('cancelled');
  });

  it('4. refuses a wrong admin key; the session cookie is HttpOnly and SameSite=Strict; a cross-origin POST is refused; the key is in no URL and no storage', async () => {
    const watched = await openPage(context);
    const { page } = watched;
    await page.goto(plane.url);
    await page.getByLabel('Admin key').fill('fosadmin_not-the-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain("not this server's admin key");
    expect(await context.cookies()).toEqual([]);

    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Runners' }).waitFor();
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: 'fos_session', httpOnly: true, sameSite: 'Strict', secure: false });
    expect(cookie!.value).not.toContain(ADMIN_KEY);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    // Another origin on the same host: same site, so the browser does send the Strict cookie; the Origin check refuses.
    const evil: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>elsewhere</p>'),
    );
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const before = (await plane.admin.listJobs({ companyId: 'csrf-co' })).length;
      const attacker = await context.newPage();
      await attacker.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
      const outcome = await attacker.evaluate(async (target) => {
        const res = await fetch(`${target}/api/admin/jobs`, {
          method: 'POST',
          credentials: 'include',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ companyId: 'csrf-co', agentName: 'x', prompt: 'x' }),
        });
        return res.type;
      }, plane.url);
      expect(outcome).toBe('opaque');
      expect((await plane.admin.listJobs({ companyId: 'csrf-co' })).length).toBe(before);
      // The same request with the cookie, from a script naming a foreign Origin: 403, and it says why.
      const res = await fetch(`${plane.url}/api/admin/jobs/stop-running`, {
        method: 'POST',
        headers: { cookie: `${cookie!.name}=${cookie!.value}`, origin: 'http://evil.example' },
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe('cross_origin_refused');
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }

    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    expect(storage).not.toContain(ADMIN_KEY);
    expect(watched.requestedUrls.filter((url) => url.includes(ADMIN_KEY))).toEqual([]);
    expect(page.url()).not.toContain(ADMIN_KEY);
    // The admin API keeps taking the bearer key.
    const bearer = await fetch(`${plane.url}/api/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(bearer.status).toBe(200);
  });

  it('5. shows agent output holding <img onerror> and <script> as text: no script runs, no CSP violation', async () => {
    const watched = await openPage(context);
    const { page } = watched;
    await logIn(page, plane.url, ADMIN_KEY);
    const attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const job = await enqueue(attack);
    await waitForStatus(job.jobId, ['completed']);
    await page.goto(`${plane.url}/#/jobs/${job.jobId}`);
    await page.locator('.badge[data-status="completed"]').first().waitFor();
    await page.locator('.transcript', { hasText: attack }).waitFor();
    await page.goto(`${plane.url}/#/jobs/${job.jobId}?mode=raw`);
    await page.locator('.transcript.raw', { hasText: '<script>window.__pwned=2</script>' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await watched.cspViolations()).toEqual([]);
    expect(watched.pageErrors).toEqual([]);
    const res = await fetch(plane.url);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('6. keeps the filters through a reload, and shows a newly queued job within 2 s', async () => {
    await enqueue('an idle company has one job', 'idle-co');
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.getByLabel('Status').selectOption('queued');
    const filters = page.getByRole('search', { name: 'Filter the jobs' });
    await filters.getByLabel('Company').selectOption('idle-co');
    await expect.poll(() => page.url()).toContain('company=idle-co');
    expect(page.url()).toContain('status=queued');
    await page.getByLabel('Search').fill('nobody runs');
    await expect.poll(() => page.url()).toContain('q=nobody+runs');
    await page.reload();
    await page.getByText('No jobs match these filters.').waitFor();
    expect(await page.getByLabel('Status').inputValue()).toBe('queued');
    expect(await filters.getByLabel('Company').inputValue()).toBe('idle-co');
    expect(await page.getByLabel('Search').inputValue()).toBe('nobody runs');

    const queuedAt = Date.now();
    const job = await enqueue('nobody runs this company', 'idle-co');
    await page.locator(`tr[data-job-id="${job.jobId}"]`).waitFor({ timeout: 5_000 });
    expect(Date.now() - queuedAt).toBeLessThan(2_000);
    const other = await enqueue('nobody runs another company');
    await page.waitForTimeout(500);
    expect(await page.locator(`tr[data-job-id="${other.jobId}"]`).count()).toBe(0);
  });

  it('7. shows a token created in the page once; after revoking it in the page its runner gets 401', async () => {
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.getByRole('link', { name: 'Runners' }).click();
    await page.getByRole('heading', { name: 'Runners' }).waitFor();
    await page.getByLabel('Company').fill('token-co');
    await page.getByLabel('Name').fill('made in the page');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.locator('[data-token]').textContent())!;
    expect(token).toMatch(/^fos_[A-Za-z0-9]{32}$/);
    await page.getByRole('button', { name: 'I saved it, hide it' }).click();
    await page.reload();
    await page.getByText('made in the page').waitFor();
    expect(await page.content()).not.toContain(token);

    const runner = startRunner(token);
    const row = page.locator('tr', { hasText: 'made in the page' });
    await until(
      async () => (await plane.admin.listTokens({ companyId: 'token-co' }))[0]?.lastUsedAt != null,
      15_000,
      () => 'the runner never polled',
    );
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await row.locator('[data-state="revoked"]').waitFor();
    const { code } = await runner.exit;
    expect(code).toBe(3); // EXIT.tokenRejected: the server answered 401
    expect(runner.stderr).toMatch(/401|revoked|rejected/i);
  });

  it('keeps a row\'s open "Yes, revoke" on its own token when a newer token is listed above it', async () => {
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    const older = (await plane.admin.createToken({ companyId: 'keyed-co', name: 'older token' })).info.tokenId;
    await page.getByRole('link', { name: 'Runners' }).click();
    const olderRow = page.locator(`tr[data-token-id="${older}"]`);
    await olderRow.getByRole('button', { name: 'Revoke' }).click();
    // Listed newest first: the new token's row comes in above the one being confirmed.
    await page.getByLabel('Company').fill('keyed-co');
    await page.getByLabel('Name').fill('newer token');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('tr', { hasText: 'newer token' }).waitFor();
    expect(await olderRow.getByRole('button', { name: 'Yes, revoke' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Yes, revoke' }).count()).toBe(1);
  });

  it('renders a 20,000-event transcript quickly, and searches, links to and loads earlier events in it', async () => {
    const companyId = 'big-co';
    const { token } = await plane.admin.createToken({ companyId, name: 'bulk' });
    const job = await plane.admin.enqueueJob({ companyId, agentName: 'Chatty', prompt: 'talk a lot' });
    const runnerApi = new RunnerHttp(plane.url, token);
    expect((await runnerApi.claim(job.jobId)).status).toBe(200);
    const total = 20_000;
    const ids: string[] = [];
    for (let start = 0; start < total; start += 256) {
      const events = Array.from({ length: Math.min(256, total - start) }, (_, i) => {
        const seq = start + i;
        const eventId = randomUUID();
        ids.push(eventId);
        return seq % 2 === 0
          ? {
              eventId,
              seq,
              kind: 'stdout_line',
              ts: new Date().toISOString(),
              payload: `\u001b[32mline ${seq}\u001b[0m of the build output`,
            }
          : {
              eventId,
              seq,
              kind: 'claude_message',
              ts: new Date().toISOString(),
              payload: { type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: `message ${seq}` }] } },
            };
      });
      expect((await runnerApi.events(job.jobId, events)).status).toBe(204);
    }
    expect((await runnerApi.complete(job.jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    process.stdout.write(`dashboard: stored ${total} events\n`);

    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    const started = Date.now();
    await page.goto(`${plane.url}/#/jobs/${job.jobId}`);
    await page.locator(`[data-event-id="${ids.at(-1)}"]`).waitFor({ timeout: 30_000 });
    await page.locator('.stream.s-ended').waitFor({ timeout: 30_000 });
    const renderMs = Date.now() - started;
    process.stdout.write(`dashboard: a ${total}-event transcript rendered in ${renderMs} ms\n`);
    expect(renderMs).toBeLessThan(15_000);
    // ANSI colours render as styled text, never as the escape codes.
    const green = page.locator(`[data-event-id="${ids.at(-2)}"] .a-fg2`);
    expect(await green.textContent()).toBe(`line ${total - 2}`);
    expect(await page.locator(`[data-event-id="${ids.at(-2)}"]`).textContent()).not.toContain('\u001b');
    // It opens at the end and follows it; scrolling up stops that, and a button brings it back.
    const transcript = page.locator('.transcript');
    const gapBelow = () => transcript.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await expect.poll(gapBelow).toBeLessThan(40);
    expect(await transcript.getAttribute('data-follow')).toBe('yes');
    await transcript.evaluate((el) => el.scrollTo(0, 0));
    await expect.poll(() => transcript.getAttribute('data-follow')).toBe('no');
    await page.getByRole('button', { name: /Follow the end/ }).click();
    await expect.poll(gapBelow).toBeLessThan(40);
    // Only the latest part is on the page; the rest loads on demand.
    expect(await page.locator('.transcript [data-event-id]').count()).toBe(INITIAL_WINDOW);
    await page.getByRole('button', { name: /Show earlier/ }).click();
    expect(await page.locator('.transcript [data-event-id]').count()).toBe(INITIAL_WINDOW + LOAD_MORE);
    // Search looks through all of it, and brings its match into view, far back as it is.
    await page.getByLabel('Search the transcript').fill('message 12345');
    await page.locator('.match-count', { hasText: '1 of 1' }).waitFor();
    await expect.poll(() => page.locator('mark.current').isVisible()).toBe(true);
    expect(await page.locator('mark.current').textContent()).toBe('message 12345');
    // An event's link, opened elsewhere, shows the page at that event, highlighted, even far back.
    const linked = await context.newPage();
    await linked.goto(`${plane.url}/#/jobs/${job.jobId}?event=${ids[42]}`);
    await linked.locator(`.row.target[data-event-id="${ids[42]}"]`).waitFor({ timeout: 30_000 });
    await expect.poll(() => linked.locator('.row.target').isVisible()).toBe(true);
    // A link followed while a search is on shows its event too.
    await page.evaluate((hash) => (location.hash = hash), `#/jobs/${job.jobId}?event=${ids[7]}`);
    await page.locator(`.row.target[data-event-id="${ids[7]}"]`).waitFor();
    await expect.poll(() => page.locator('.row.target').isVisible()).toBe(true);
  }, 120_000);

  it('fits a phone-sized screen without sideways scrolling, and switches between light and dark', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    try {
      const page = await phone.newPage();
      await logIn(page, plane.url, ADMIN_KEY);
      const job = await enqueue(`A reply long enough to wrap on a phone: ${'words '.repeat(40)}`);
      await waitForStatus(job.jobId, ['completed']);
      for (const [hash, ready] of [
        ['#/jobs', 'tr[data-job-id]'],
        [`#/jobs/${job.jobId}`, '.transcript [data-event-id]'],
        [`#/jobs/${job.jobId}?mode=raw`, '.transcript.raw [data-event-id]'],
        ['#/runners', 'tr[data-token-id]'],
        ['#/costs', 'tr[data-company]'],
      ] as const) {
        await page.goto(`${plane.url}/${hash}`);
        await page.locator(ready).first().waitFor();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${hash} scrolls sideways`).toBeLessThanOrEqual(0);
      }
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const light = await background();
      await page.getByRole('button', { name: 'Theme: system' }).click();
      await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
      await expect.poll(background).not.toBe(light);
      await page.reload();
      await page.getByRole('button', { name: 'Theme: dark' }).waitFor();
    } finally {
      await phone.close();
    }
  });

  it('queues a job from the form, then stops every running job with one button', async () => {
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.goto(`${plane.url}/#/jobs?company=${COMPANY}`);
    await page.getByText('Queue a job').click();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Queue' }) });
    await form.getByLabel('Agent name').fill('Form agent');
    await form.getByLabel('Prompt').fill('Queued from the page.');
    await form.getByRole('button', { name: 'Queue' }).click();
    await page.getByText(/Queued job/).waitFor();
    const [job] = await plane.admin.listJobs({ companyId: COMPANY, limit: 1 });
    expect(job).toMatchObject({ agentName: 'Form agent', prompt: 'Queued from the page.', adapterType: 'claude_local' });
    await page.locator(`tr[data-job-id="${job!.jobId}"] .badge[data-status="streaming"]`).waitFor({ timeout: 15_000 });

    await page.getByRole('button', { name: 'Stop all running' }).click();
    await page.getByRole('button', { name: /Yes, stop \d+ running/ }).click();
    await page.getByText(/Cancelled \d+ running job/).waitFor();
    await page.locator(`tr[data-job-id="${job!.jobId}"] .badge[data-status="cancelled"]`).waitFor();
  });

  it("shows a job's instructions as the text they encode, not as the base64 the wire carries", async () => {
    const instructions = 'Be terse. Ünïcode ✓ — 日本語';
    const job = await plane.admin.enqueueJob({
      companyId: 'nobody',
      agentName: 'Instructed',
      prompt: 'never claimed',
      instructionsFileContent: Buffer.from(instructions).toString('base64'),
    });
    const { page } = await openPage(context);
    await logIn(page, plane.url, ADMIN_KEY);
    await page.goto(`${plane.url}/#/jobs/${job.jobId}`);
    const details = page.locator('details', { has: page.locator('summary', { hasText: 'Instructions' }) });
    await details.locator('summary').click();
    expect(await details.locator('pre').textContent()).toBe(instructions);
  });

  it('8. stops promptly while a browser is still streaming', async () => {
    const other = await startControlPlane({ adminKey: ADMIN_KEY, longPollMs: 5_000 });
    const job = await other.admin.enqueueJob({ companyId: 'nobody', agentName: 'Waiting', prompt: 'never claimed' });
    const { page } = await openPage(context);
    await logIn(page, other.url, ADMIN_KEY);
    const list = await context.newPage();
    await list.goto(`${other.url}/#/jobs`);
    await list.locator(`tr[data-job-id="${job.jobId}"]`).waitFor();
    await page.goto(`${other.url}/#/jobs/${job.jobId}`);
    await page.locator('.stream.s-live').waitFor();
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
