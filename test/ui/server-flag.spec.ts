/** `founderos-runner server` serves the dashboard by default and says where; `--no-ui` turns it off. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runServerCommand } from '../../src/cli/server.js';
import { captureIo, serveCommand } from '../control-plane/helpers.js';

async function serve(...flags: string[]) {
  const dataDir = await mkdtemp(join(tmpdir(), 'founderos-ui-flag-'));
  const server = await serveCommand(dataDir, flags);
  return {
    ...server,
    stop: async () => {
      const code = await server.stop();
      await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

it('should print the dashboard address by default and serve nothing at / with --no-ui', async () => {
  const [withUi, withoutUi] = await Promise.all([serve(), serve('--no-ui')]);
  try {
    expect(withUi.io.out).toContain(`dashboard: ${withUi.url}/  (log in with the admin key)`);
    expect((await fetch(`${withUi.url}/`)).status).toBe(200);
    expect(withoutUi.io.out).not.toContain('dashboard:');
    expect((await fetch(`${withoutUi.url}/`)).status).toBe(404);
  } finally {
    expect(await withUi.stop()).toBe(0);
    expect(await withoutUi.stop()).toBe(0);
  }
}, 90_000); // two first starts at once: each creates a PGlite database in a child process, then opens it

it('should document --no-ui in --help', async () => {
  const io = captureIo({});
  expect(await runServerCommand(['--help'], io)).toBe(0);
  expect(io.out).toContain('--no-ui');
});
