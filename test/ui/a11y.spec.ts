/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
/**
 * axe-core on every page of the dashboard, in the light and the dark theme: no violation of any impact. The pages
 * hold what makes them hard (coloured output, an open failing step, search marks, a warning, the shortcuts
 * dialog, the banner of an unreachable server).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleTranscript } from '../../scripts/sample-transcript.mjs';
import { startControlPlane, type ControlPlane } from '../../src/control-plane/index.js';
import { browserAvailable, launchBrowser, logIn } from './browser.js';
import { play } from './play.js';

const ADMIN_KEY = 'fosadmin_A11yTestKey0123456789abcdefghijklmnopqrst';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary: string }>;
}

/** axe's violations on the page as it is, one line each (rule, impact, where, why). */
async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const found = (await page.evaluate(() => (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe.run()))
    .violations as Violation[];
  return found.flatMap((v) =>
    v.nodes.map((node) => `${v.id} (${v.impact}): ${node.target.join(' ')}: ${node.failureSummary.replaceAll('\n', ' ')}`),
  );
}

describe.skipIf(!browserAvailable())('accessibility (axe-core)', () => {
  let plane: ControlPlane;
  let browser: Browser;
  const pages: Array<[string, string, string, ((page: Page) => Promise<void>)?]> = [];

  beforeAll(async () => {
    plane = await startControlPlane({ adminKey: ADMIN_KEY, leaseMs: 10 * 60_000 });
    const done = await play(plane, 'acme', sampleTranscript({ session: randomUUID() }), {
      complete: { status: 'completed', exitCode: 0, elapsedSec: 12.9, costMicros: 91_200 },
    });
    const running = await play(plane, 'acme', sampleTranscript({ session: randomUUID(), until: 9_000 }));
    const failed = await play(plane, 'globex', [['stderr_line', '\u001b[31mfatal:\u001b[0m something broke', 0]], {
      complete: { status: 'failed', exitCode: 3, errorMessage: 'fatal: something broke\nsecond line' },
    });
    const queued = await plane.admin.enqueueJob({ companyId: 'nobody', agentName: 'Waiting', prompt: 'x' });
    await plane.admin.cancelJob((await plane.admin.enqueueJob({ companyId: 'acme', agentName: 'Stopped', prompt: 'y' })).jobId);
    pages.push(
      ['jobs', '#/jobs', 'tr[data-job-id]'],
      ['jobs filtered', '#/jobs?status=failed&company=globex', 'tr[data-job-id]'],
      ['a finished job, a failing step open', `#/jobs/${done.jobId}`, '.r-end'],
      [
        'a finished job, searched',
        `#/jobs/${done.jobId}`,
        '.r-end',
        async (page) => {
          await page.getByLabel('Search the transcript').fill('parser');
          await page.locator('mark.current').waitFor();
        },
      ],
      ['a running job', `#/jobs/${running.jobId}`, '.outcome.o-running'],
      ['a failed job, raw', `#/jobs/${failed.jobId}?mode=raw`, '.r-end'],
      ['a queued job nobody runs', `#/jobs/${queued.jobId}`, '[data-notice="no-runner"]'],
      ['runners', '#/runners', 'tr[data-token-id]'],
      ['costs', '#/costs', 'tr[data-day]'],
      [
        'the keyboard shortcuts',
        '#/jobs',
        'tr[data-job-id]',
        async (page) => {
          await page.keyboard.press('?');
          await page.locator('dialog.help').waitFor();
        },
      ],
    );
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await plane?.close();
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`finds no violation on any page in the ${colorScheme} theme`, async () => {
      // The policy refuses every script the page did not load itself, axe's too: the test lets it in.
      const context = await browser.newContext({ colorScheme, bypassCSP: true, viewport: { width: 1440, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(plane.url);
        await page.getByLabel('Admin key').waitFor();
        const found: Record<string, string[]> = { login: await violations(page) };
        await logIn(page, plane.url, ADMIN_KEY);
        for (const [name, hash, ready, act] of pages) {
          await page.goto('about:blank');
          await page.goto(`${plane.url}/${hash}`);
          await page.locator(ready).first().waitFor();
          await act?.(page);
          found[name] = await violations(page);
        }
        expect(Object.fromEntries(Object.entries(found).filter(([, list]) => list.length > 0))).toEqual({});
      } finally {
        await context.close();
      }
    }, 120_000);
  }
});
