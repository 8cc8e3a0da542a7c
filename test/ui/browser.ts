/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
/**
 * A real headless Chromium for the dashboard's tests: the system's (Debian's chromium-headless-shell or chromium),
 * driven by playwright-core, which cannot download a browser of its own here. Without one the browser tests skip
 * locally and fail in CI, where .ci/run installs it. Where it is looked for, and its flags: scripts/chromium.mjs,
 * which `npm run screenshots` uses too.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/chromium.mjs';

export const NO_BROWSER_MESSAGE =
  'No Chromium found for the dashboard browser tests: install Debian\'s "chromium-headless-shell" (or "chromium") package, ' +
  'or set FOUNDEROS_TEST_CHROMIUM to a Chromium binary.';

/**
 * Whether to run the browser tests. Locally a missing browser skips them with a message; in CI it is a failure.
 */
export function browserAvailable(): boolean {
  if (CHROMIUM_PATH !== undefined) return true;
  if (process.env.CI === 'true') throw new Error(NO_BROWSER_MESSAGE);
  process.stderr.write(`skipping the dashboard browser tests: ${NO_BROWSER_MESSAGE}\n`);
  return false;
}

/** A fresh headless Chromium with a temporary profile (playwright's default). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH!, headless: true, args: CHROMIUM_ARGS });
}

/** Everything a test checks about a page besides its content: CSP violations and page errors. */
export interface WatchedPage {
  page: Page;
  cspViolations: () => Promise<string[]>;
  pageErrors: string[];
  requestedUrls: string[];
}

export async function openPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const pageErrors: string[] = [];
  const requestedUrls: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('request', (request) => requestedUrls.push(request.url()));
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  return {
    page,
    pageErrors,
    requestedUrls,
    cspViolations: () => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations),
  };
}

/** Logs in through the form, as a person does. */
export async function logIn(page: Page, url: string, adminKey: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Admin key').fill(adminKey);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Runners' }).waitFor();
}
