// The system's headless Chromium (Debian's chromium-headless-shell or chromium), for the dashboard's browser tests
// (test/ui/browser.ts) and for `npm run screenshots`: where to find it, and the flags to launch it with.
import { existsSync } from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/headless_shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
];

/** The browser to drive: FOUNDEROS_TEST_CHROMIUM, else the first of Debian's that is installed; undefined when none is. */
export const CHROMIUM_PATH = process.env.FOUNDEROS_TEST_CHROMIUM ?? CANDIDATES.find((path) => existsSync(path));

/**
 * Without the background-networking flags Chromium calls out to outside hosts, which fail noisily here; no
 * sandbox and no GPU, for containers and CI machines.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
