#!/usr/bin/env node
// `npm run screenshots`: PNGs of every dashboard page, light and dark, at 1440×900 and 390×844, into
// docs/screenshots/, and the README's picture of the jobs page at 1280×800. A real control plane, real runners (the demo agent, and one that fails) and jobs played over
// the runner protocol fill it as a team would: 240-odd jobs over the last month (completed, failed, crashed,
// cancelled), a job mid-run with coloured test output, one queued for a company whose runner is gone. The last
// pictures are taken with the server stopped. Needs the build (npm run build) and a Chromium (test/ui/browser.ts).
// `node scripts/screenshots.mjs job-running costs` takes only the pages whose names start so.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';
import { sampleTranscript } from './sample-transcript.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'docs', 'screenshots');
const { startControlPlane } = await import(join(root, 'dist', 'control-plane', 'index.js'));
const { openDb } = await import(join(root, 'dist', 'control-plane', 'db.js'));
const CLI = join(root, 'dist', 'bin', 'founderos-runner.js');
const DEMO_AGENT = join(root, 'dist', 'demo', 'demo-agent.js');
const FAILING_AGENT = join(root, 'test', 'fixtures', 'agents', 'fake-claude.mjs');
const ADMIN_KEY = `fosadmin_screenshots${randomUUID().replaceAll('-', '')}`;
const ONLY = process.argv.slice(2);
const wanted = (name) => ONLY.length === 0 || ONLY.some((prefix) => name.startsWith(prefix));
const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];
if (!CHROMIUM_PATH) {
  console.error('No Chromium found: install Debian\'s "chromium-headless-shell" package, or set FOUNDEROS_TEST_CHROMIUM.');
  process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Speaks the runner protocol for one token, as a runner does. */
function runnerApi(url, token) {
  const call = async (jobId, path, body) => {
    const res = await fetch(`${url}/api/runner/jobs/${jobId}/${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'user-agent': 'founderos-runner/0.2.0 node/20.20.2 (linux; x64)',
      },
      body: body && JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  };
  return {
    /** Claims a job and posts its events, each `at` ms after `startMs`; completes it when told how. */
    async play(jobId, events, { startMs = Date.now(), complete } = {}) {
      await call(jobId, 'claim');
      await call(jobId, 'heartbeat');
      const batch = events.map(([kind, payload, at], seq) => ({
        eventId: randomUUID(),
        seq,
        kind,
        ts: new Date(startMs + at).toISOString(),
        payload,
      }));
      for (let i = 0; i < batch.length; i += 200) await call(jobId, 'events', { events: batch.slice(i, i + 200) });
      if (complete) await call(jobId, 'complete', complete);
    },
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'founderos-screenshots-'));
const children = [];
function runner(url, token, env) {
  const child = spawn(process.execPath, [CLI, 'start', `--server-url=${url}`, '--log-level=warn'], {
    env: {
      ...process.env,
      FOUNDEROS_RUNNER_TOKEN: token,
      FOUNDEROS_RUNNER_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'founderos-screenshots-')),
      ...env,
    },
    stdio: 'ignore',
  });
  children.push(child);
}

const AGENTS = ['Release notes', 'Nightly fixer', 'Docs bot', 'Triage', 'Refactor agent', 'Test writer'];
const COMPANIES = ['acme', 'globex', 'initech', 'umbrella'];
const OUTCOMES = [
  ...Array(14).fill({ status: 'completed', exitCode: 0 }),
  { status: 'failed', exitCode: 1, errorMessage: 'claude exited with code 1: API Error: 529 Overloaded\nretry later' },
  { status: 'failed', exitCode: 137, signal: 'SIGKILL', errorMessage: 'the agent was killed (SIGKILL): out of memory' },
  { status: 'failed', exitCode: 1, errorMessage: 'Invalid API key · Please run /login' },
  { status: 'cancelled', exitCode: 130, signal: 'SIGTERM' },
];

/**
 * A month of history: jobs of four companies, played to their end, then their times moved back over the last 30
 * days in the database itself (the protocol only knows "now").
 */
async function fillHistory(plane, tokens) {
  const ids = [];
  for (let i = 0; i < 236; i++) {
    const companyId = COMPANIES[i % COMPANIES.length];
    const job = await plane.admin.enqueueJob({
      companyId,
      agentName: AGENTS[(i * 7) % AGENTS.length],
      prompt: ['Draft the release notes for 0.3.', 'Fix the flaky parser test.', 'Update the API docs.', 'Triage the new issues.'][i % 4],
      adapterType: ['claude_local', 'codex_local', 'gemini_local'][i % 3],
    });
    const outcome = OUTCOMES[(i * 5) % OUTCOMES.length];
    await runnerApi(plane.url, tokens[companyId]).play(job.jobId, [['stdout_line', `step ${i}`, 0]], {
      complete: {
        ...outcome,
        elapsedSec: 20 + ((i * 37) % 400),
        costMicros: outcome.status === 'cancelled' ? null : 10_000 + ((i * 7919) % 400_000),
      },
    });
    ids.push(job.jobId);
  }
  return ids;
}

async function backdate(ids) {
  const db = await openDb({ pgliteDir: join(dataDir, 'pglite'), log: () => {} });
  try {
    await db.query(
      `WITH spread AS (SELECT value::uuid AS id, ordinality AS n FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY)
       UPDATE jobs SET created_at = now() - ((236 - n) * interval '3 hours') - interval '1 hour',
                       claimed_at = now() - ((236 - n) * interval '3 hours') - interval '1 hour' + interval '4 seconds',
                       completed_at = now() - ((236 - n) * interval '3 hours') - interval '1 hour' + interval '4 seconds' + elapsed_sec * interval '1 second'
         FROM spread WHERE jobs.id = spread.id`,
      [JSON.stringify(ids)],
    );
  } finally {
    await db.close();
  }
}

let plane;
try {
  mkdirSync(outDir, { recursive: true });
  plane = await startControlPlane({ dataDir, adminKey: ADMIN_KEY, leaseMs: 30 * 60_000 });
  const tokens = {};
  for (const companyId of COMPANIES) tokens[companyId] = (await plane.admin.createToken({ companyId, name: `${companyId} history` })).token;
  const history = await fillHistory(plane, tokens);
  await plane.close();
  await backdate(history);
  plane = await startControlPlane({ dataDir, adminKey: ADMIN_KEY, leaseMs: 30 * 60_000 });
  const { admin } = plane;
  for (const info of await admin.listTokens({})) await admin.revokeToken(info.tokenId);

  const build = await admin.createToken({ companyId: 'acme', name: 'build box' });
  const laptop = await admin.createToken({ companyId: 'globex', name: 'laptop' });
  const ci = await admin.createToken({ companyId: 'initech', name: 'ci runner' });
  await admin.createToken({ companyId: 'umbrella', name: 'staging box', ttlSec: 5 * 86_400 });
  const old = await admin.createToken({ companyId: 'acme', name: 'old desktop' });
  await admin.revokeToken(old.info.tokenId);
  runner(plane.url, build.token, { FOUNDEROS_CLAUDE_BIN: DEMO_AGENT, FOUNDEROS_DEMO_AGENT_STEP_MS: '60' });
  runner(plane.url, laptop.token, { FOUNDEROS_CLAUDE_BIN: FAILING_AGENT });

  const failed = await admin.enqueueJob({
    companyId: 'globex',
    agentName: 'Nightly fixer',
    prompt: JSON.stringify({ mode: 'fail', code: 3 }),
  });
  const session = randomUUID();
  const ciApi = runnerApi(plane.url, ci.token);
  const completed = await admin.enqueueJob({
    companyId: 'initech',
    agentName: 'Bug fixer',
    prompt: 'The parser drops the trailing newline: fix it.',
  });
  await ciApi.play(completed.jobId, sampleTranscript({ session }), {
    startMs: Date.now() - 13_000,
    complete: {
      status: 'completed',
      exitCode: 0,
      elapsedSec: 12.9,
      costMicros: 91_200,
      sessionId: session,
      cliVersion: '2.1.3 (Claude Code)',
    },
  });
  const cancelled = await admin.enqueueJob({
    companyId: 'initech',
    agentName: 'Refactor agent',
    prompt: 'Split store.ts into smaller modules.',
  });
  await ciApi.play(cancelled.jobId, sampleTranscript({ session: randomUUID(), until: 6_000 }), { startMs: Date.now() - 7_000 });
  await admin.cancelJob(cancelled.jobId);
  const queued = await admin.enqueueJob({
    companyId: 'umbrella',
    agentName: 'Docs bot',
    prompt: 'Update the API docs.',
    adapterType: 'codex_local',
  });
  // Mid-run whenever a picture is taken: claimed and fed over the runner protocol, never completed.
  const running = await admin.enqueueJob({
    companyId: 'initech',
    agentName: 'Bug fixer',
    prompt: 'The lexer splits CRLF line endings in two: fix it.',
  });
  await ciApi.play(running.jobId, sampleTranscript({ session: randomUUID(), until: 9_000 }), { startMs: Date.now() - 9_500 });
  await until(async () => (await admin.getJob(failed.jobId)).status === 'failed', 'the failing job');

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  /** Logs in through the form, after `before` (the login page's picture). */
  const logIn = async (page, before) => {
    await page.goto(plane.url);
    await page.getByLabel('Admin key').waitFor();
    await before?.();
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Runners' }).waitFor();
  };
  const pages = [
    ['jobs', '#/jobs', 'tr[data-job-id]'],
    ['jobs-failed', '#/jobs?status=failed', 'tr[data-job-id]'],
    ['job-running', `#/jobs/${running.jobId}`, '.stream.s-live'],
    ['job-completed', `#/jobs/${completed.jobId}`, '.r-end'],
    [
      'job-search',
      `#/jobs/${completed.jobId}`,
      '.r-end',
      async (page) => {
        await page.getByLabel('Search the transcript').fill('parser');
        await page.locator('mark.current').waitFor();
      },
    ],
    [
      'job-step-line',
      `#/jobs/${completed.jobId}`,
      '.r-end',
      async (page) => {
        // The passing run of the tests, opened: its first and last lines, the rest folded between them.
        await page.locator('.step-head', { hasText: 'npm test' }).last().click();
        await page.locator('.step-body .fold').last().waitFor();
      },
    ],
    ['job-failed', `#/jobs/${failed.jobId}`, '.r-end'],
    ['job-cancelled', `#/jobs/${cancelled.jobId}`, '.r-end'],
    ['job-queued', `#/jobs/${queued.jobId}`, '[data-notice="no-runner"]'],
    ['job-raw', `#/jobs/${completed.jobId}?mode=raw`, '.r-end'],
    ['runners', '#/runners', 'tr[data-token-id]'],
    ['costs', '#/costs', 'tr[data-day]'],
  ];
  const written = [];
  const offline = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const viewport of VIEWPORTS) {
      const context = await browser.newContext({ colorScheme, viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const shot = async (name, target = page) => {
        const file = join(outDir, `${name}-${colorScheme}-${viewport.width}.png`);
        await target.screenshot({ path: file });
        written.push(file);
      };
      await logIn(page, () => (wanted('login') ? shot('login') : undefined));
      for (const [name, hash, ready, act] of pages.filter(([name]) => wanted(name))) {
        await page.goto('about:blank'); // a fresh page each time, even for the same address
        await page.goto(`${plane.url}/${hash}`);
        await page.locator(ready).first().waitFor();
        await act?.(page);
        await sleep(200); // let the last stream message render
        await shot(name);
      }
      if (!wanted('job-offline')) {
        await context.close();
        continue;
      }
      const watching = await context.newPage();
      await watching.goto(`${plane.url}/#/jobs/${running.jobId}`);
      await watching.locator('.stream.s-live').waitFor();
      offline.push({ page: watching, shot: (target) => shot('job-offline', target), context });
    }
  }
  if (wanted('jobs')) {
    // The README's picture: the jobs page at the width it is laid out for.
    const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await logIn(page);
    await page.locator('tr[data-job-id]').first().waitFor();
    await sleep(200);
    const file = join(outDir, 'jobs-light-1280.png');
    await page.screenshot({ path: file });
    written.push(file);
    await context.close();
  }
  await plane.close();
  plane = undefined;
  for (const { page, shot, context } of offline) {
    await page.locator('.banner').waitFor({ timeout: 15_000 });
    await shot(page);
    await context.close();
  }
  await browser.close();
  console.log(`wrote ${written.length} screenshots to ${outDir}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await plane?.close();
}
