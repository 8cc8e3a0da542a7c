#!/usr/bin/env node
// Used only to record fixtures (FOUNDEROS_RECORD_FIXTURES=1): stands in front of the real CLI named by
// REAL_CLI_TEE_TARGET, runs it with the same argv and stdin, passes its stdout and stderr through unchanged, and copies
// them byte for byte to <REAL_CLI_TEE_DIR>/<FOUNDEROS_JOB_ID>.<n>.stdout and .stderr, n counting the job's runs (a
// fresh-session retry is run 2). The server stores events as jsonb, which reorders keys: these copies are what the
// CLI really printed. Without a job id (the runner asking `--version`) it only passes through.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';

const target = process.env.REAL_CLI_TEE_TARGET;
const dir = process.env.REAL_CLI_TEE_DIR;
const jobId = process.env.FOUNDEROS_JOB_ID;
if (!target) {
  process.stderr.write('tee-agent: REAL_CLI_TEE_TARGET is not set\n');
  process.exit(2);
}

let copies;
if (dir && jobId) {
  let run = 1;
  while (existsSync(join(dir, `${jobId}.${run}.stdout`))) run += 1;
  copies = {
    stdout: createWriteStream(join(dir, `${jobId}.${run}.stdout`)),
    stderr: createWriteStream(join(dir, `${jobId}.${run}.stderr`)),
  };
}

const child = spawn(target, process.argv.slice(2), { stdio: ['inherit', 'pipe', 'pipe'] });
for (const stream of ['stdout', 'stderr']) {
  child[stream].on('data', (chunk) => {
    process[stream].write(chunk);
    copies?.[stream].write(chunk);
  });
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  process.stderr.write(`tee-agent: could not start ${target}: ${error.message}\n`);
  process.exit(127);
});
child.on('close', async (code, signal) => {
  if (copies) await Promise.all(Object.values(copies).map((file) => new Promise((resolve) => file.end(resolve))));
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
