// How long the control plane takes to check one events batch (32 events of about 300 bytes of JSON each), the check
// every POST /events goes through. Bundles <dir>/control-plane/validation.ts with esbuild (no build needed) for each
// source dir given (default: src), runs their rounds interleaved so that other work on the machine weighs on each
// alike, and prints per dir the fastest round (the least disturbed), the median and the 90th percentile, in
// microseconds of CPU time per batch.
// Usage: node scripts/time-batch-validation.mjs [source dir…]; to compare with a commit:
//   mkdir /tmp/before && git archive <commit> src | tar -x -C /tmp/before && node scripts/time-batch-validation.mjs /tmp/before/src src
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROUNDS = 25;
const BATCHES = 2000;

async function loadCheck(sourceDir, index) {
  const dir = mkdtempSync(join(tmpdir(), 'time-batch-validation-'));
  const outfile = join(dir, `validation-${index}.mjs`);
  const entryPoints = [join(sourceDir, 'control-plane/validation.ts')];
  await build({ entryPoints, bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'error' });
  const { parseEventBatch } = await import(pathToFileURL(outfile).href);
  rmSync(dir, { recursive: true });
  return parseEventBatch;
}

/** A claude-like event whose JSON is about 300 bytes. */
function event(seq) {
  const payload = {
    type: 'assistant',
    message: { id: `msg_${seq}`, content: [{ type: 'text', text: 'x'.repeat(40) }] },
    session_id: randomUUID(),
  };
  return { eventId: randomUUID(), kind: 'claude_message', ts: new Date().toISOString(), seq, payload };
}

const bodies = Array.from({ length: 64 }, (_, b) =>
  JSON.parse(JSON.stringify({ events: Array.from({ length: 32 }, (_, i) => event(b * 32 + i)) })),
);
const eventBytes = JSON.stringify(bodies[0].events[0]).length;
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['src'];
const checks = await Promise.all(dirs.map(loadCheck));

/** CPU time (user and system, not wall time: the machine may be shared) per batch, in microseconds. */
const runRound = (check) => {
  const start = process.cpuUsage();
  for (let i = 0; i < BATCHES; i++) check(bodies[i % bodies.length]);
  const { user, system } = process.cpuUsage(start);
  return (user + system) / BATCHES;
};
for (const check of checks) runRound(check); // warm up the JIT
const rounds = checks.map(() => []);
for (let round = 0; round < ROUNDS; round++) checks.forEach((check, i) => rounds[i].push(runRound(check)));

for (const [i, perBatchUs] of rounds.entries()) {
  perBatchUs.sort((a, b) => a - b);
  const at = (q) => perBatchUs[Math.min(ROUNDS - 1, Math.floor(q * ROUNDS))].toFixed(1);
  console.log(
    `${dirs[i]}: events batch of 32 x ${eventBytes} bytes: fastest ${at(0)} us, median ${at(0.5)} us, p90 ${at(0.9)} us per batch`,
  );
}
