/**
 * Output is never cut: the built CLI prints a multi-megabyte transcript (`admin jobs events --json`) into a pipe
 * whose reader is slow, and every byte arrives, the same bytes as into a file. The CLI once exited before stdout
 * drained: 1.1 MB of 8 through `| cat`, 64 KiB through a reader that waited.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/protocol/escape-controls.js';
import { startControlPlane, type ControlPlane } from '../../src/control-plane/index.js';
import { company, event, runnerFor } from '../control-plane/helpers.js';
import { storedEvents } from '../support/store-checks.js';
import { RUNNER_BIN } from '../support/runner-process.js';
import { describeTempDir } from '../support/temp-dir.js';

/** 80 lines of 100 KB, with what the output must escape (ESC, C1, a bidi override) and text it must keep (é, 中, 😀). */
const LINES = 80;
const LINE = `\u001b[1m\u009b\u202e ${'é中😀 plain text '.repeat(5000)}`;

describe('CLI output into a pipe', () => {
  const dir = describeTempDir('founderos-pipe-');
  let plane: ControlPlane;
  let jobId: string;
  /** A job whose prompt is a whole context window (1 Mi characters, 3 MB): `jobs show` prints it in one write. */
  let bigJobId: string;

  beforeAll(async () => {
    plane = await startControlPlane({});
    const companyId = company('pipe');
    const runner = await runnerFor(plane, companyId);
    jobId = (await plane.admin.enqueueJob({ companyId, agentName: 'Printer', prompt: 'print' })).jobId;
    expect((await runner.claim(jobId)).status).toBe(200);
    for (let i = 0; i < LINES; i += 8) {
      const batch = Array.from({ length: 8 }, (_, j) => event({ seq: i + j, payload: `${i + j} ${LINE}` }));
      expect((await runner.events(jobId, batch)).status).toBe(204);
    }
    expect((await runner.complete(jobId, { status: 'completed', exitCode: 0 })).status).toBe(204);
    bigJobId = (await plane.admin.enqueueJob({ companyId, agentName: 'Big', prompt: '中'.repeat(1024 * 1024) })).jobId;
  });
  afterAll(() => plane?.close());

  /** `admin <args> --json` of the built CLI, its stdout given to `stdout`. */
  function adminCommand(args: string[], stdout: 'pipe' | number) {
    return spawn(process.execPath, [RUNNER_BIN, 'admin', ...args, '--json', '--server-url', plane.url], {
      env: { PATH: process.env.PATH, FOUNDEROS_ADMIN_KEY: plane.adminKey },
      stdio: ['ignore', stdout, 'pipe'],
    });
  }
  const eventsCommand = (stdout: 'pipe' | number) => adminCommand(['jobs', 'events', jobId], stdout);

  const exited = (child: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  /** What a command prints into a pipe whose reader takes 64 KiB, then waits 20 ms, as `less` or a slow network would. */
  async function slowlyRead(child: ReturnType<typeof spawn>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout!.pause();
      setTimeout(() => child.stdout!.resume(), 20);
    });
    expect(await exited(child)).toBe(0);
    return Buffer.concat(chunks);
  }

  it('should deliver every byte to a slow reader, the same bytes as into a file and as the API holds', async () => {
    const expected = (await storedEvents(plane.admin, jobId)).map((e) => `${escapeControls(JSON.stringify(e))}\n`).join('');
    expect(Buffer.byteLength(expected)).toBeGreaterThan(8 * 1024 * 1024);

    const file = join(dir(), 'events.jsonl');
    const fd = openSync(file, 'w');
    const toFile = eventsCommand(fd);
    closeSync(fd);
    expect(await exited(toFile)).toBe(0);
    const intoFile = readFileSync(file, 'utf8');
    expect(intoFile === expected).toBe(true); // compared whole: a diff of 8 MB would drown the report

    const throughPipe = await slowlyRead(eventsCommand('pipe'));
    expect(throughPipe.length).toBe(Buffer.byteLength(expected));
    expect(throughPipe.equals(Buffer.from(expected))).toBe(true);
  }, 120_000);

  it('should not exit before a document printed in one write has reached a slow reader', async () => {
    const expected = `${JSON.stringify(await plane.admin.getJob(bigJobId), null, 2)}\n`;
    const throughPipe = await slowlyRead(adminCommand(['jobs', 'show', bigJobId], 'pipe'));
    expect(throughPipe.length).toBe(Buffer.byteLength(expected));
    expect(throughPipe.equals(Buffer.from(expected))).toBe(true);
  }, 60_000);

  it('should end quietly when its reader goes away (| head)', async () => {
    const piped = eventsCommand('pipe');
    let stderr = '';
    piped.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    piped.stdout!.once('data', () => piped.stdout!.destroy());
    expect(await exited(piped)).toBe(0);
    expect(stderr).toBe('');
  }, 60_000);
});
