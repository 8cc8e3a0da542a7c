#!/usr/bin/env node
// `npm run screenshots`: PNGs of every dashboard page (login, jobs, a running, a completed and a failed job,
// runners, costs) in light and dark, at 1280×800 and 390×844, into docs/screenshots/. A real control plane with
// real runners and the demo agent fills it; the running job is played over the runner protocol so that it is
// mid-run whenever the picture is taken. Needs the build (npm run build) and a Chromium (see test/ui/browser.ts).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'docs', 'screenshots');
const { startControlPlane } = await import(join(root, 'dist', 'control-plane', 'index.js'));
const CLI = join(root, 'dist', 'bin', 'founderos-runner.js');
const DEMO_AGENT = join(root, 'dist', 'demo', 'demo-agent.js');
const FAILING_AGENT = join(root, 'test', 'fixtures', 'agents', 'fake-claude.mjs');
const ADMIN_KEY = `fosadmin_screenshots${randomUUID().replaceAll('-', '')}`;
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

const plane = await startControlPlane({ adminKey: ADMIN_KEY, leaseMs: 30 * 60_000 });
const children = [];
function runner(token, env) {
  const child = spawn(process.execPath, [CLI, 'start', `--server-url=${plane.url}`, '--log-level=warn'], {
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
const finished = (jobId) =>
  until(async () => ['completed', 'failed', 'cancelled'].includes((await plane.admin.getJob(jobId)).status), `job ${jobId}`);

try {
  mkdirSync(outDir, { recursive: true });
  const { admin } = plane;
  const build = await admin.createToken({ companyId: 'acme', name: 'build box' });
  const laptop = await admin.createToken({ companyId: 'globex', name: 'laptop' });
  const live = await admin.createToken({ companyId: 'initech', name: 'ci runner' });
  const old = await admin.createToken({ companyId: 'acme', name: 'old desktop' });
  await admin.revokeToken(old.info.tokenId);

  runner(build.token, { FOUNDEROS_CLAUDE_BIN: DEMO_AGENT, FOUNDEROS_DEMO_AGENT_STEP_MS: '60' });
  runner(laptop.token, { FOUNDEROS_CLAUDE_BIN: FAILING_AGENT });
  const completed = await admin.enqueueJob({
    companyId: 'acme',
    agentName: 'Sarah',
    prompt: 'Say hello, then tell me what is in your working directory.',
    adapterType: 'claude_local',
  });
  await finished(completed.jobId);
  const second = await admin.enqueueJob({
    companyId: 'acme',
    agentName: 'Release notes',
    prompt: 'Draft the release notes for 0.3.',
    adapterType: 'claude_local',
  });
  const failed = await admin.enqueueJob({
    companyId: 'globex',
    agentName: 'Nightly fixer',
    prompt: JSON.stringify({ mode: 'fail', code: 3 }),
    adapterType: 'claude_local',
  });
  await Promise.all([finished(second.jobId), finished(failed.jobId)]);
  await admin.enqueueJob({ companyId: 'umbrella', agentName: 'Docs bot', prompt: 'Update the API docs.', adapterType: 'codex_local' });

  // A job that stays mid-run: claimed and fed over the runner protocol, never completed.
  const running = await admin.enqueueJob({
    companyId: 'initech',
    agentName: 'Refactor agent',
    prompt: 'Split store.ts into smaller modules.',
    adapterType: 'claude_local',
  });
  const call = (path, body) =>
    fetch(`${plane.url}/api/runner/jobs/${running.jobId}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${live.token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
  await call('claim');
  const session = randomUUID();
  const lines = [
    ['claude_message', { type: 'system', subtype: 'init', cwd: '/work/initech', model: 'claude-sonnet', session_id: session }],
    [
      'claude_message',
      {
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [{ type: 'text', text: 'I will look at store.ts first, then split it by concern: tokens, jobs and events.' }],
        },
      },
    ],
    [
      'claude_tool_use',
      {
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'wc -l src/store.ts', description: 'Count lines' } },
          ],
        },
      },
    ],
    [
      'claude_tool_result',
      { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '454 src/store.ts' }] } },
    ],
    ['stderr_line', '\u001b[33mwarning\u001b[0m: \u001b[1msrc/store.ts\u001b[0m has 3 exported classes'],
    [
      'claude_tool_use',
      {
        type: 'assistant',
        message: { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: 'src/store.ts' } }] },
      },
    ],
    [
      'claude_tool_result',
      {
        type: 'user',
        message: {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: '/**\n * All SQL of the control plane…\n */' }],
        },
      },
    ],
    [
      'claude_message',
      {
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [{ type: 'text', text: 'The token queries are self-contained. Moving them to tokens-store.ts now.' }],
        },
      },
    ],
  ];
  await call('events', {
    events: lines.map(([kind, payload], seq) => ({ eventId: randomUUID(), seq, kind, ts: new Date().toISOString(), payload })),
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const pages = [
    ['jobs', '#/jobs', 'tr[data-job-id]'],
    ['job-running', `#/jobs/${running.jobId}`, '.transcript [data-event-id]'],
    ['job-completed', `#/jobs/${completed.jobId}`, '.stream.s-ended'],
    ['job-failed', `#/jobs/${failed.jobId}?mode=raw`, '.stream.s-ended'],
    ['runners', '#/runners', 'tr[data-token-id]'],
    ['costs', '#/costs', 'tr[data-company]'],
  ];
  const written = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ colorScheme, viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const shot = async (name) => {
        const file = join(outDir, `${name}-${colorScheme}-${viewport.width}.png`);
        await page.screenshot({ path: file });
        written.push(file);
      };
      await page.goto(plane.url);
      await page.getByLabel('Admin key').waitFor();
      await shot('login');
      await page.getByLabel('Admin key').fill(ADMIN_KEY);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('link', { name: 'Runners' }).waitFor();
      for (const [name, hash, ready] of pages) {
        await page.goto(`${plane.url}/${hash}`);
        await page.locator(ready).first().waitFor();
        await sleep(150); // let the last stream message render
        await shot(name);
      }
      await context.close();
    }
  }
  await browser.close();
  console.log(`wrote ${written.length} screenshots to ${outDir}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await plane.close();
}
