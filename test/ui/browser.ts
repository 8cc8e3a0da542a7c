/// <reference lib="dom" />
// The page.evaluate callbacks run in the browser.
/**
 * A real headless Chromium for the dashboard's tests: the system's (Debian's chromium-headless-shell or chromium),
 * driven by playwright-core, which cannot download a browser of its own here. Without one the browser tests skip
 * locally and fail in CI, where .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/headless_shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
];

/** The browser to drive: FOUNDEROS_TEST_CHROMIUM, else the first of Debian's that is installed. */
export const CHROMIUM = process.env.FOUNDEROS_TEST_CHROMIUM ?? CANDIDATES.find((path) => existsSync(path));

export const NO_BROWSER_MESSAGE =
  'No Chromium found for the dashboard browser tests: install Debian\'s "chromium-headless-shell" (or "chromium") package, ' +
  'or set FOUNDEROS_TEST_CHROMIUM to a Chromium binary.';

/**
 * Whether to run the browser tests. Locally a missing browser skips them with a message; in CI it is a failure.
 */
export function browserAvailable(): boolean {
  if (CHROMIUM !== undefined) return true;
  if (process.env.CI === 'true') throw new Error(NO_BROWSER_MESSAGE);
  process.stderr.write(`skipping the dashboard browser tests: ${NO_BROWSER_MESSAGE}\n`);
  return false;
}

/**
 * Without the background-networking flags Chromium calls out to outside hosts, which fail noisily here; the
 * profile is a fresh temporary one (playwright's default).
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM!,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
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
