#!/usr/bin/env node
// Peak RSS of the runner while the server is slower than the agent: `node bench/memory.mjs <MB> [delayMs]`.
// The flood agent prints <MB> of ~300-byte stream-json lines as fast as its stdout takes them; a proxy between
// runner and reference control plane holds every events POST for `delayMs` (default 5), so batches pile up in
// the runner's spool. Prints one JSON line: the job's status, events stored, the runner's peak RSS (VmHWM) and
// the time it took. Run it at 10 and 200 to see whether memory grows with the output.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '../dist/control-plane/index.js';

const megabytes = Number(process.argv[2] ?? 10);
const delayMs = Number(process.argv[3] ?? 5);
const lineBytes = 300;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));

const plane = await startControlPlane({ longPollMs: 2_000 });
const { token } = await plane.admin.createToken({ companyId: 'memory' });
const upstream = new URL(plane.url);
const slowProxy = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () =>
    setTimeout(
      () => {
        const forward = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(Buffer.concat(chunks));
      },
      req.url.endsWith('/events') ? delayMs : 0,
    ),
  );
});
await new Promise((resolve) => slowProxy.listen(0, '127.0.0.1', resolve));

const lines = Math.ceil((megabytes * 1024 * 1024) / lineBytes);
const job = await plane.admin.enqueueJob({ companyId: 'memory', agentName: 'flood', prompt: JSON.stringify({ lines, lineBytes }) });
const runner = spawn(
  process.execPath,
  [here('../dist/bin/founderos-runner.js'), 'start', `--server-url=http://127.0.0.1:${slowProxy.address().port}`, '--log-level=warn'],
  {
    env: {
      ...process.env,
      FOUNDEROS_RUNNER_TOKEN: token,
      FOUNDEROS_CLAUDE_BIN: here('agents/flood.mjs'),
      FOUNDEROS_RUNNER_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'memory-spool-')),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const started = Date.now();
let peakKb = 0;
try {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${runner.pid}/status`, 'utf8'))[1]));
    } catch {
      // between samples the runner may be gone
    }
    const state = await plane.admin.getJob(job.jobId);
    if (['completed', 'failed', 'cancelled'].includes(state.status)) {
      console.log(
        JSON.stringify({
          megabytes,
          delayMs,
          status: state.status,
          events: state.eventCount,
          peakRssMb: +(peakKb / 1024).toFixed(1),
          seconds: +((Date.now() - started) / 1000).toFixed(1),
        }),
      );
      break;
    }
    if (Date.now() - started > 60 * 60_000) throw new Error('the job did not end within an hour');
  }
} finally {
  runner.kill('SIGKILL');
  slowProxy.close();
  await plane.close();
}
