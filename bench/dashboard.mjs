#!/usr/bin/env node
/**
 * The dashboard's first page of a 5,000-job list, in Chromium: from the navigation's start to the moment its 50th
 * row is in the document, by the page's own clock, on a warm browser (its files cached, as a person's second visit
 * is). Side by side, run by run: as it is (a browser that was logged in starts at once), and with the page waiting
 * for the session check first (as a browser that never logged in here does). Needs the build (`npm run build`)
 * and a Chromium (see test/ui/browser.ts).
 *
 *   npm run build && node bench/dashboard.mjs
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../scripts/chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { migrate, openDb, startControlPlane } = await import(join(root, 'dist', 'control-plane', 'index.js'));
const JOBS = 5_000;
const RUNS = 10;
const ADMIN_KEY = 'fosadmin_DashboardBench0123456789abcdefghijklmnop';

const dataDir = mkdtempSync(join(tmpdir(), 'founderos-bench-dashboard-'));
const db = await openDb({ pgliteDir: join(dataDir, 'pglite') });
await migrate(db);
await db.query(
  `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash, adapter_type, status, created_at)
   SELECT gen_random_uuid(), (ARRAY['acme', 'globex', 'initech', 'umbrella'])[i % 4 + 1], 'a', 'Agent ' || (i % 5),
          'Prompt number ' || i, 'h', (ARRAY[NULL, 'codex_local', 'gemini_local'])[i % 3 + 1],
          CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 7 = 0 THEN 'cancelled' ELSE 'queued' END, now() - i * interval '1 minute'
     FROM generate_series(0, $1::integer - 1) AS i`,
  [JOBS],
);
await db.close();

const plane = await startControlPlane({ adminKey: ADMIN_KEY, dataDir });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelectorAll('tr[data-job-id]').length < 50) return;
      window.__firstPageMs = performance.now();
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  await page.goto(plane.url);
  await page.getByLabel('Admin key').fill(ADMIN_KEY);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('tr[data-job-id]').first().waitFor();
  const times = { started: [], checkedFirst: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const way of ['started', 'checkedFirst']) {
      if (way === 'checkedFirst') await page.evaluate(() => localStorage.removeItem('fos-was-logged-in'));
      await page.goto('about:blank');
      await page.goto(`${plane.url}/#/jobs`);
      await page.locator('tr[data-job-id]').nth(49).waitFor();
      times[way].push(Math.round(await page.evaluate(() => window.__firstPageMs)));
    }
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  console.log(
    `dashboard: the first page of ${JOBS} jobs, navigation start → 50 rows (median of ${RUNS}), load average ${loadavg()[0].toFixed(1)}`,
  );
  console.log(`  as it is:                 ${median(times.started)} ms (${times.started.join(', ')})`);
  console.log(`  session checked first:    ${median(times.checkedFirst)} ms (${times.checkedFirst.join(', ')})`);
} finally {
  await browser.close();
  await plane.close();
}
