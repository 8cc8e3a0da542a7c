/** `founderos-runner server`: start-up message, admin.key, persistence on disk, clean stop, usage errors; close(). */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../src/cli/admin/command.js';
import { runServerCommand } from '../../src/cli/server.js';
import { startControlPlane } from '../../src/control-plane/index.js';
import { captureIo, closedPort, company, runnerFor, serveCommand, sleep } from '../control-plane/helpers.js';
import { describeTempDir } from '../support/temp-dir.js';

describe('server command', () => {
  const dataDir = describeTempDir('founderos-server-');

  const serve = (...flags: string[]) => serveCommand(dataDir(), flags);

  it('should run on disk, keep an admin key in the data dir, and stop cleanly', async () => {
    const first = await serve('--lease-sec', '30', '--long-poll-sec', '5');
    expect(first.io.out).toContain(`PGlite at ${join(dataDir(), 'pglite')}`);
    expect(first.io.out).toContain(`created in ${join(dataDir(), 'admin.key')}`);
    expect((await stat(join(dataDir(), 'admin.key'))).mode & 0o777).toBe(0o600);

    // The admin CLI finds the key in the data dir, as it would on the server's machine.
    const admin = captureIo({});
    const companyId = company('disk');
    expect(
      await runAdminCommand(
        ['tokens', 'create', '--company', companyId, '--server-url', first.url, '--data-dir', dataDir(), '--json'],
        admin,
      ),
    ).toBe(0);
    const { info } = JSON.parse(admin.out);
    expect(await first.stop()).toBe(0);
    expect(first.io.out).toContain('stopped.');

    // Restarted on the same data dir: same key, same data.
    const second = await serve();
    expect(second.io.out).toContain(`in ${join(dataDir(), 'admin.key')}`);
    const again = captureIo({});
    expect(
      await runAdminCommand(
        ['tokens', 'list', '--company', companyId, '--server-url', second.url, '--data-dir', dataDir(), '--json'],
        again,
      ),
    ).toBe(0);
    expect(JSON.parse(again.out).tokens).toEqual([expect.objectContaining({ tokenId: info.tokenId })]);
    expect(await second.stop()).toBe(0);
  }, 90_000); // two starts of PGlite on disk, the first on a fresh directory

  /** Every directory and file under `dir` (itself included) that its group or other users can reach. */
  async function reachableByOthers(dir: string): Promise<string[]> {
    const open: string[] = [];
    if (((await stat(dir)).mode & 0o077) !== 0) open.push(dir);
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      const path = join(entry.parentPath, entry.name);
      if (!entry.isSymbolicLink() && ((await stat(path)).mode & 0o077) !== 0) open.push(path);
    }
    return open;
  }

  it('should keep the data dir private even when it already existed with mode 0755', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'founderos-private-'));
    const dir = join(shared, 'server');
    await mkdir(dir, { mode: 0o755 });
    try {
      const plane = await startControlPlane({ dataDir: dir });
      const companyId = company('private');
      await plane.admin.enqueueJob({
        companyId,
        agentName: 'A',
        prompt: 'secret prompt',
        instructionsFileContent: Buffer.from('secret').toString('base64'),
      });
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect(await reachableByOthers(dir)).toEqual([]);
      await plane.close();
      // Files written at shutdown are unreachable through the 0700 directory, and narrowed at the next start.
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const again = await startControlPlane({ dataDir: dir });
      expect(await reachableByOthers(dir)).toEqual([]);
      await again.close();
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  }, 90_000); // two starts of PGlite on disk, the first on a fresh directory

  it('should give new tokens the TTL of --token-ttl-days, else of FOUNDEROS_TOKEN_TTL_DAYS', async () => {
    const day = 24 * 3600 * 1000;
    const ttlOf = async (argv: string[], env: NodeJS.ProcessEnv) => {
      const server = await serveCommand(dataDir(), argv, env);
      const admin = captureIo({});
      expect(
        await runAdminCommand(
          ['tokens', 'create', '--company', company('ttl'), '--server-url', server.url, '--data-dir', dataDir(), '--json'],
          admin,
        ),
      ).toBe(0);
      expect(await server.stop()).toBe(0);
      const { info } = JSON.parse(admin.out);
      return (Date.parse(info.expiresAt) - Date.parse(info.createdAt)) / day;
    };
    expect(await ttlOf(['--token-ttl-days', '7'], { FOUNDEROS_TOKEN_TTL_DAYS: '3' })).toBe(7);
    expect(await ttlOf([], { FOUNDEROS_TOKEN_TTL_DAYS: '3' })).toBe(3);
    expect(await ttlOf([], {})).toBe(90);
  }, 90_000); // three server starts

  it('should warn when it listens beyond this machine over plain http, and escape control characters in its log', async () => {
    // A data dir named with a one-byte CSI, a bidi override and a line separator: the log names it, escaped.
    const server = await serveCommand(join(dataDir(), 'x\u009b2J\u202e\u2028y'), ['--host', '0.0.0.0'], {}, 80_000);
    expect(server.io.err).toContain('warning: listening on 0.0.0.0 over plain http');
    expect(await server.stop()).toBe(0);
    expect(server.io.err).toContain('x\\u009b2J\\u202e\\u2028y');
    expect(server.io.err).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2028\u2029]/);
    const local = await serveCommand(join(dataDir(), 'x\u009b2J\u202e\u2028y'), [], {}, 80_000);
    expect(local.io.err).not.toContain('warning');
    expect(await local.stop()).toBe(0);
  }, 180_000); // two starts of PGlite on disk, the first on a fresh directory

  it('should warn about a database password on the command line, without showing it', async () => {
    const io = captureIo({});
    const port = await closedPort();
    expect(await runServerCommand(['--database-url', `postgres://me:hunter2@127.0.0.1:${port}/x`, '--data-dir', dataDir()], io)).toBe(1);
    expect(io.err).toContain('warning: a database password was given as --database-url on the command line');
    expect(io.err).not.toContain('hunter2');
    const fromEnv = captureIo({ DATABASE_URL: `postgres://me:hunter2@127.0.0.1:${port}/x` });
    expect(await runServerCommand(['--data-dir', dataDir()], fromEnv)).toBe(1);
    expect(fromEnv.err).not.toContain('warning');
  });

  it('should exit 2 with a message on bad flags', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /unknown flag\(s\): --bogus/],
      [['--port', 'eighty'], /--port must be an integer from 0 to 65535/],
      [['--on-lease-expiry', 'maybe'], /--on-lease-expiry must be fail or requeue/],
      [['--lease-sec', '0'], /--lease-sec must be a number above 0/],
      [['--part1-job-limit-sec', 'long'], /--part1-job-limit-sec must be a number above 0 to 86400/],
      [['--token-ttl-days', '0'], /--token-ttl-days must be a number above 0 to 3650/],
      [['--max-polls-per-token', '0'], /--max-polls-per-token must be an integer from 1 to 1000000/],
      [['--database-url', 'mysql://x'], /postgres:\/\//],
      [['extra'], /takes no arguments/],
    ];
    for (const [argv, message] of cases) {
      const io = captureIo({});
      expect(await runServerCommand(argv, io)).toBe(2);
      expect(io.err).toMatch(message);
    }
    const help = captureIo({});
    expect(await runServerCommand(['--help'], help)).toBe(0);
    expect(help.out).toContain('--on-lease-expiry');
  });

  it('should answer 204 when the long-poll window ends, and end waiting long-polls with 204 on close()', async () => {
    const plane = await startControlPlane({ longPollMs: 1500 });
    const runner = await runnerFor(plane, company('idle'));
    const started = Date.now();
    expect((await runner.next()).status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);

    const poll = runner.next();
    await sleep(200);
    const closedAt = Date.now();
    await plane.close();
    expect((await poll).status).toBe(204);
    expect(Date.now() - closedAt).toBeLessThan(1000);
  });
});
