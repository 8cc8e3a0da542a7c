/**
 * The last wall, in a process of its own (the test runner has guards of its own): an error that escapes every handler
 * is logged with the requestId of the request whose work threw, and the server keeps serving.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { eventually } from './helpers.js';

const SERVER = fileURLToPath(new URL('../fixtures/escaping-error-server.mjs', import.meta.url));

it('should log an escaped error with its requestId and keep serving', async () => {
  const child = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  try {
    const url = await eventually(async () => /^(http:\/\/\S+)\n/.exec(stdout)?.[1], 20_000);
    const res = await fetch(`${url}/escape`);
    expect(res.status).toBe(202);
    const requestId = res.headers.get('x-request-id')!;
    await eventually(async () => (stderr.includes('thrown in a timer') ? true : undefined), 5000);
    expect(stderr).toContain(
      `uncaught exception while serving GET /escape, requestId=${requestId} (the server keeps serving): Error: thrown in a timer`,
    );
    expect(stderr).toContain(
      `unhandled rejection while serving GET /escape, requestId=${requestId} (the server keeps serving): Error: rejected`,
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(child.exitCode).toBeNull();
  } finally {
    child.kill();
  }
});
