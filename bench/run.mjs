#!/usr/bin/env node
/**
 * The benchmark suite of founderos-runner, against the built CLI (`npm run bench` builds first).
 *
 *   npm run bench                      # full: about 9 minutes on 2 cores
 *   npm run bench -- --quick           # smaller sizes, shorter windows (about 2 minutes)
 *   npm run bench -- --only=throughput,catchup  # sections: startup throughput catchup latency claim sandbox idle scale load
 *   npm run bench -- --before=main     # "Runner (before)": a build of this git revision (default 98737d8); none: skip
 *   npm run bench -- --server-before=main  # the server of the load section's comparison (default b272cb7); none: skip
 *
 * Every figure is measured side by side with its baselines in the same run, on fresh control planes (the
 * reference server, in this process, on 127.0.0.1, or a null server that stores nothing). Baseline A is the agent
 * alone, or bare Node; baseline B is bench/baselines/minimal-runner.mjs, a hand-written runner with no RxJS that sends
 * the same requests, in batches of up to 32 events; B256 is the same with batches of up to 256. "Runner (before)" is
 * the runner of another git revision (`--before`), built in the temp dir, for the throughput rows where it is cheap
 * and for the catch-up row. The load section (bench/load.mjs) measures the control plane itself, under simulated
 * runners, in a table of its own. Writes bench/results/latest.json and latest.md, and prints the tables.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SERVER_BEFORE, LOAD_CONFIG, renderLoad, runLoad } from './load.mjs';
import {
  IMPL_LABELS,
  IMPLS,
  RESULTS,
  RUNNER_BIN,
  agentAlone,
  catchUpJob,
  cleanupAll,
  cpuMs,
  ensurePostgres,
  floodJob,
  floodJobNull,
  launch,
  memMb,
  now,
  openPlane,
  prepareBefore,
  sleep,
  startImpl,
  stop,
  summary,
} from './lib.mjs';

/** The merge base of main before the issue-13 work: "today's runner" of the catch-up comparison. */
const DEFAULT_BEFORE = '98737d8';
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ONLY = argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const BEFORE_REV = argv.find((arg) => arg.startsWith('--before='))?.slice('--before='.length) || DEFAULT_BEFORE;
const SERVER_BEFORE = argv.find((arg) => arg.startsWith('--server-before='))?.slice('--server-before='.length) || DEFAULT_SERVER_BEFORE;
const SECTIONS = ['startup', 'throughput', 'catchup', 'latency', 'claim', 'sandbox', 'idle', 'scale', 'load'];
for (const name of ONLY ?? []) {
  if (!SECTIONS.includes(name)) {
    process.stderr.write(`bench: unknown section ${JSON.stringify(name)}; sections are ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
}
const unknown = argv.filter(
  (arg) => arg !== '--quick' && !arg.startsWith('--only=') && !arg.startsWith('--before=') && !arg.startsWith('--server-before='),
);
if (unknown.length) {
  process.stderr.write(
    `bench: unknown argument(s) ${unknown.join(' ')}; use --quick, --only=${SECTIONS.join(',')}, --before=<git revision>|none ` +
      'and/or --server-before=<git revision>|none\n',
  );
  process.exit(2);
}
const want = (section) => !ONLY || ONLY.includes(section);
/** The implementations of the trickle and under-load latency rows. */
const LOAD_IMPLS = ['runner', 'minimal', 'minimal256'];

const CONFIG = QUICK
  ? {
      throughputSizes: [1e4, 1e5],
      smallRepeats: 1, // sizes up to 10^4 are repeated (the implementations alternating); the median counts
      beforeMaxLines: 1e4, // "Runner (before)" runs the throughput sizes up to this one (and the catch-up)
      catchUp: { lines: 1e4, outageMs: 3000 },
      trickle: { lines: 50, intervalMs: 100 },
      // quick: the follower rides along the 10^5 PGlite throughput run instead of a run of its own
      loadLines: 1e5,
      separateLoadRun: false,
      claimJobs: 10,
      sandboxJobs: 10,
      idleSeconds: 10,
      startupRepeats: 10,
      scale: { dbs: ['pglite'], runners: [1, 4], jobs: { 1: 10, 4: 16, 16: 48 } },
    }
  : {
      throughputSizes: [1e4, 1e5, 1e6],
      smallRepeats: 3,
      beforeMaxLines: 1e5,
      catchUp: { lines: 5e4, outageMs: 8000 },
      trickle: { lines: 100, intervalMs: 100 },
      loadLines: 1e5,
      separateLoadRun: true,
      claimJobs: 20,
      sandboxJobs: 30,
      idleSeconds: 30,
      startupRepeats: 10,
      scale: { dbs: ['pglite', 'postgres'], runners: [1, 4, 16], jobs: { 1: 20, 4: 40, 16: 64 } },
    };

const progress = (text) => process.stderr.write(`[bench ${((now() - benchStart) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
const benchStart = now();
const results = {
  mode: QUICK ? 'quick' : 'full',
  command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  startedAt: new Date().toISOString(),
  machine: {
    nproc: Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  },
  config: CONFIG,
  beforeRev: BEFORE_REV,
  serverBeforeRev: SERVER_BEFORE,
  sections: {},
  durationsSec: {},
  notes: [],
};

async function section(name, fn) {
  if (!want(name)) return;
  const started = now();
  progress(`${name}…`);
  try {
    results.sections[name] = await fn();
  } catch (error) {
    results.sections[name] = { error: error instanceof Error ? error.message : String(error) };
    progress(`${name} FAILED: ${results.sections[name].error}`);
  }
  results.durationsSec[name] = Number(((now() - started) / 1000).toFixed(1));
}

// ------------------------------------------------------------------ start-up

await section('startup', async () => {
  const time = (args) => {
    const started = now();
    const { status } = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (status !== 0) throw new Error(`node ${args.join(' ')} exited ${status}`);
    return now() - started;
  };
  time(['-e', '0']); // warm the page cache
  time([RUNNER_BIN, '--version']);
  const node = [];
  const runner = [];
  for (let i = 0; i < CONFIG.startupRepeats; i++) {
    node.push(time(['-e', '0']));
    runner.push(time([RUNNER_BIN, '--version']));
  }
  return { runnerMs: summary(runner), nodeMs: summary(node) };
});

// ------------------------------------------------------------------ the runner of another revision

/** Builds the `before` runner once, the first time a section needs it; false (with a note) when it cannot be. */
let beforeReady;
async function haveBefore() {
  if (beforeReady !== undefined) return beforeReady;
  if (BEFORE_REV === 'none') {
    results.before = { skip: '--before=none' };
    beforeReady = false;
    return beforeReady;
  }
  progress(`building the runner of ${BEFORE_REV} (git archive + tsc, reused when built before)…`);
  const built = await prepareBefore(BEFORE_REV);
  results.before = built;
  beforeReady = Boolean(built.bin);
  if (!beforeReady) {
    results.notes.push(`Runner (before) skipped: ${built.skip}.`);
    progress(`runner (before) skipped: ${built.skip}`);
  } else {
    progress(
      `runner (before): ${built.commit.slice(0, 10)} ${built.reused ? 'reused from' : `built in ${built.seconds.toFixed(0)} s in`} ${built.dir}`,
    );
  }
  return beforeReady;
}

// ------------------------------------------------------------------ throughput

await section('throughput', async () => {
  const withBefore = await haveBefore();
  const out = { agent: {}, null: [], pglite: [] };
  for (const lines of CONFIG.throughputSizes) out.agent[lines] = await agentAlone(lines);
  for (const server of ['null', 'pglite']) {
    for (const lines of CONFIG.throughputSizes) {
      const repeats = lines <= 1e4 ? CONFIG.smallRepeats : 1;
      const impls = ['runner', ...(withBefore && lines <= CONFIG.beforeMaxLines ? ['before'] : []), 'minimal', 'minimal256'];
      const runs = Object.fromEntries(impls.map((impl) => [impl, []]));
      for (let i = 0; i < repeats; i++) {
        // Alternate which goes first, so that a drift of the machine's load does not favour one.
        for (const impl of i % 2 ? [...impls].reverse() : impls) {
          const follow = server === 'pglite' && !CONFIG.separateLoadRun && lines === CONFIG.loadLines && LOAD_IMPLS.includes(impl);
          progress(
            `throughput ${lines.toLocaleString('en-US')} lines, ${server === 'null' ? 'null server' : 'PGlite'}: ${impl}` +
              `${repeats > 1 ? ` (${i + 1}/${repeats})` : ''}${follow ? ', followed' : ''}`,
          );
          runs[impl].push(server === 'null' ? await floodJobNull(impl, { lines }) : await floodJob(impl, { lines }, { follow }));
        }
      }
      const pick = (list) => [...list].sort((a, b) => a.linesPerSec - b.linesPerSec)[Math.floor((list.length - 1) / 2)];
      out[server].push({ lines, repeats, ...Object.fromEntries(impls.map((impl) => [impl, pick(runs[impl])])), all: runs });
    }
  }
  return out;
});

// ------------------------------------------------------------------ catch-up after an outage

await section('catchup', async () => {
  const { lines, outageMs } = CONFIG.catchUp;
  const impls = ['runner', ...((await haveBefore()) ? ['before'] : []), 'minimal', 'minimal256'];
  const out = { lines, outageMs };
  for (const impl of impls) {
    progress(`catch-up: ${lines.toLocaleString('en-US')} lines printed while the server is down for ${outageMs / 1000} s: ${impl}`);
    out[impl] = await catchUpJob(impl, { lines, outageMs });
  }
  return out;
});

// ------------------------------------------------------------------ latency

await section('latency', async () => {
  const { lines, intervalMs } = CONFIG.trickle;
  progress(
    `latency: trickle of ${lines} lines, one every ${intervalMs / 2}–${(intervalMs * 3) / 2} ms (${LOAD_IMPLS.join(', ')} at once, each on its own server)`,
  );
  const runs = await Promise.all(LOAD_IMPLS.map((impl) => floodJob(impl, { lines, intervalMs, jitter: true }, { follow: true })));
  const trickle = { lines, intervalMs, ...Object.fromEntries(LOAD_IMPLS.map((impl, i) => [impl, runs[i].latency])) };
  let load;
  if (CONFIG.separateLoadRun) {
    load = { lines: CONFIG.loadLines, followedSeparately: true };
    for (const impl of LOAD_IMPLS) {
      progress(`latency under load: ${CONFIG.loadLines.toLocaleString('en-US')} lines flat out: ${impl}`);
      const run = await floodJob(impl, { lines: CONFIG.loadLines }, { follow: true });
      load[impl] = { ...run.latency, linesPerSec: run.linesPerSec };
    }
  } else {
    const size = results.sections.throughput?.pglite?.find((entry) => entry.lines === CONFIG.loadLines);
    if (!size) throw new Error(`latency under load rides along the ${CONFIG.loadLines} throughput run: run the throughput section too`);
    load = {
      lines: CONFIG.loadLines,
      followedSeparately: false,
      ...Object.fromEntries(LOAD_IMPLS.map((impl) => [impl, size[impl].latency])),
    };
  }
  return { trickle, load };
});

// ------------------------------------------------------------------ claim latency

await section('claim', async () => {
  const sides = [];
  try {
    // The runner as a user gets it (the sandbox on wherever bubblewrap works), and with the sandbox off as B runs.
    const variants = [
      ...IMPLS.map((impl) => ({ name: impl, impl })),
      { name: 'runnerSandboxOff', impl: 'runner', env: { FOUNDEROS_RUNNER_SANDBOX: 'off' } },
    ];
    for (const { name, impl, env } of variants) {
      const plane = await openPlane('pglite');
      const proc = startImpl(impl, plane.url, await plane.token(), { env });
      sides.push({ name, plane, proc, total: [], claim: [], spawn: [] });
      await plane.waitPolling(1);
    }
    // One warm-up job each (the runner asks the agent binary for its --version on its first job), then alternate.
    for (let i = -1; i < CONFIG.claimJobs; i++) {
      for (const side of i % 2 ? sides : [...sides].reverse()) {
        await sleep(250); // the runner is back in its long-poll
        const enqueuedAt = now();
        const job = await side.plane.enqueue({ lines: 0 });
        await side.plane.waitJobs(i + 2, 30_000, () => `; ${side.name} stderr:\n${side.proc.stderr()}`);
        if (i < 0) continue;
        const first = (await side.plane.admin.listEvents(job.jobId, { limit: 1 })).events[0];
        const record = await side.plane.admin.getJob(job.jobId);
        side.total.push(first.payload.startedAt - enqueuedAt);
        side.claim.push(Date.parse(record.claimedAt) - enqueuedAt);
        side.spawn.push(first.payload.startedAt - Date.parse(record.claimedAt));
      }
    }
    return Object.fromEntries(
      sides.map((side) => [
        side.name,
        { enqueueToAgentStartMs: summary(side.total), enqueueToClaimMs: summary(side.claim), claimToAgentStartMs: summary(side.spawn) },
      ]),
    );
  } finally {
    for (const side of sides) {
      await stop(side.proc);
      side.proc.dispose();
      await side.plane.close();
    }
  }
});

// ------------------------------------------------------------------ the sandbox's cost at a job's start

await section('sandbox', async () => {
  // Two runners with the same defaults, the sandbox on in one (bubblewrap) and off in the other, on one server each;
  // jobs of no lines, one at a time, the two alternating (which goes first alternates too), so that both see the same
  // machine. A job's start: enqueue → the agent's first line (its `t`: the time its script began, just before it prints).
  const sides = [];
  try {
    for (const mode of ['on', 'off']) {
      const plane = await openPlane('pglite');
      const proc = startImpl('runner', plane.url, await plane.token(), { env: { FOUNDEROS_RUNNER_SANDBOX: mode } });
      sides.push({ mode, plane, proc, firstLine: [], processStart: [] });
      await plane.waitPolling(1);
    }
    const pairs = [];
    for (let i = -1; i < CONFIG.sandboxJobs; i++) {
      const pair = {};
      for (const side of i % 2 ? sides : [...sides].reverse()) {
        await sleep(250); // the runner is back in its long-poll
        const enqueuedAt = now();
        const job = await side.plane.enqueue({ lines: 0 });
        await side.plane.waitJobs(i + 2, 30_000, () => `; sandbox ${side.mode} stderr:\n${side.proc.stderr()}`);
        if (i < 0) continue; // the first job also asks the agent for its --version
        const first = (await side.plane.admin.listEvents(job.jobId, { limit: 1 })).events[0];
        side.firstLine.push(first.payload.t - enqueuedAt);
        side.processStart.push(first.payload.startedAt - enqueuedAt);
        pair[side.mode] = first.payload.t - enqueuedAt;
      }
      if (i >= 0) pairs.push(pair.on - pair.off);
    }
    return {
      ...Object.fromEntries(
        sides.map((side) => [
          side.mode,
          { enqueueToFirstLineMs: summary(side.firstLine), enqueueToAgentStartMs: summary(side.processStart) },
        ]),
      ),
      pairedDifferenceMs: summary(pairs),
    };
  } finally {
    for (const side of sides) {
      await stop(side.proc);
      side.proc.dispose();
      await side.plane.close();
    }
  }
});

// ------------------------------------------------------------------ idle cost

await section('idle', async () => {
  const plane = await openPlane('pglite');
  const procs = [];
  try {
    for (const impl of IMPLS) procs.push(startImpl(impl, plane.url, await plane.token(impl)));
    const bare = launch(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
    procs.push({ ...bare, impl: 'node', dispose: () => {} });
    await plane.waitPolling(2);
    await sleep(1000);
    const before = procs.map((proc) => cpuMs(proc.pid));
    progress(`idle: ${CONFIG.idleSeconds} s of empty long-polls (server holds each 30 s)`);
    await sleep(CONFIG.idleSeconds * 1000);
    const after = procs.map((proc) => cpuMs(proc.pid));
    return {
      seconds: CONFIG.idleSeconds,
      ...Object.fromEntries(
        procs.map((proc, i) => [
          proc.impl,
          { cpuMs: after[i] - before[i], peakRssMb: memMb(proc.pid, 'VmHWM'), rssMb: memMb(proc.pid, 'VmRSS') },
        ]),
      ),
    };
  } finally {
    for (const proc of procs) {
      await stop(proc);
      proc.dispose();
    }
    await plane.close();
  }
});

// ------------------------------------------------------------------ scale

await section('scale', async () => {
  const rows = [];
  for (const db of CONFIG.scale.dbs) {
    if (db === 'postgres') {
      const pg = await ensurePostgres();
      if (pg.skip) {
        results.notes.push(`PostgreSQL scale runs skipped: ${pg.skip}.`);
        continue;
      }
      results.postgres = pg.source;
    }
    for (const count of CONFIG.scale.runners) {
      const jobs = CONFIG.scale.jobs[count];
      const entry = { db, runners: count, jobs };
      for (const impl of count % 2 ? IMPLS : [...IMPLS].reverse()) {
        progress(`scale: ${db}, ${count} × ${impl}, ${jobs} jobs of 10 lines`);
        entry[impl] = await scaleRun(db, impl, count, jobs);
      }
      rows.push(entry);
    }
  }
  return { rows };
});

async function scaleRun(db, impl, count, jobs) {
  const plane = await openPlane(db);
  const procs = [];
  try {
    for (let i = 0; i < count; i++) procs.push(startImpl(impl, plane.url, await plane.token(`${impl} ${i}`)));
    await plane.waitPolling(count, 90_000);
    await sleep(300);
    const cpuBefore = procs.map((proc) => cpuMs(proc.pid));
    const enqueuedAt = now();
    for (let i = 0; i < jobs; i++) await plane.enqueue({ lines: 10 });
    const done = await plane.waitJobs(jobs, 60_000 + jobs * 2000, () => `; ${impl} stderr:\n${procs[0].stderr()}`);
    const failed = done.filter((job) => job.status !== 'completed');
    if (failed.length) throw new Error(`${failed.length} of ${jobs} jobs did not complete: ${failed[0].errorMessage}`);
    const lastCompletion = Math.max(...done.map((job) => Date.parse(job.completedAt)));
    const seconds = (lastCompletion - enqueuedAt) / 1000;
    const cpu = procs.reduce((sum, proc, i) => sum + cpuMs(proc.pid) - cpuBefore[i], 0);
    const perRunner = new Map();
    for (const job of done) perRunner.set(job.claimedByTokenId, (perRunner.get(job.claimedByTokenId) ?? 0) + 1);
    return { seconds, jobsPerSec: jobs / seconds, cpuMsPerJob: cpu / jobs, runnersUsed: perRunner.size };
  } finally {
    await Promise.all(procs.map((proc) => stop(proc)));
    for (const proc of procs) proc.dispose();
    await plane.close();
  }
}

// ------------------------------------------------------------------ the control plane at scale

await section('load', () => runLoad(QUICK ? LOAD_CONFIG.quick : LOAD_CONFIG.full, { progress, serverBefore: SERVER_BEFORE }));

// ------------------------------------------------------------------ report

await cleanupAll();
results.finishedAt = new Date().toISOString();
results.totalSec = Number(((now() - benchStart) / 1000).toFixed(1));
results.machine.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));

mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
const table = buildTable(results);
results.table = table;
const markdown = renderMarkdown(results, table);
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(RESULTS, 'latest.md'), markdown);
process.stdout.write(`${markdown}\n`);
progress(`done in ${results.totalSec} s; wrote bench/results/latest.json and latest.md`);
const failures = Object.entries(results.sections).filter(([, value]) => value?.error);
process.exit(failures.length ? 1 : 0);

// ------------------------------------------------------------------ formatting

/** One line per kind of row, under the table: what it is and how it is measured. */
function how(kind) {
  return {
    throughput:
      'lines ÷ (job completion − agent process start), one job of N 300-byte stream-json lines printed flat out (10,000 lines/s = 3 MB/s); ' +
      'the completion is sent only after every batch was accepted. Null server: node:http answering 204 to every batch, storing nothing ' +
      "(the implementation's own limit); PGlite: the reference control plane over in-memory PGlite. A: the agent alone into /dev/null.",
    cpu: "the implementation's user+sys CPU time (/proc/<pid>/stat) over one job of 10^5 lines, from the enqueue to the completion.",
    serverCpu: 'the bench process (reference server and PGlite, in process) user+sys CPU time over the same 10^5-line job.',
    catchup:
      'a job starts on PGlite behind a TCP proxy; once its first line is stored the proxy closes its listener and resets every ' +
      'connection (refused, as a stopped server), the agent prints N lines, the proxy listens again after the outage; seconds from ' +
      "that return to the job's completion (sent after the last line was stored). Retry wait: return → first new line stored " +
      '(the runner probes the server every second while it refuses connections and sends at once when it answers; ' +
      'the runner before, B and B256 wait out a backoff, random, 1 s doubling); drain: the rest.',
    trickle:
      'a line every 50–150 ms (jittered), write time (in the line) → its receipt by an admin follower (`listEvents` with `waitMs`); the implementations run at once, each on its own PGlite server.',
    load: '10^5 lines flat out on PGlite with the follower attached; the same write → follower time, p50 and p99 over every line.',
    claim:
      'enqueue → the agent process start (its first line carries its start time), one job at a time, the runner (sandbox on where ' +
      'bubblewrap works, as a user gets it), the runner with the sandbox off and B alternating.',
    sandbox:
      "enqueue → the agent's first line (the time its script began, carried in the line), one job of no lines at a time, two runners " +
      'alternating, the sandbox on in one and off in the other (FOUNDEROS_RUNNER_SANDBOX), each on its own PGlite server; the ' +
      'difference is taken within each pair of jobs, then its median.',
    idle: 'CPU time and peak RSS (VmHWM) over a window of empty long-polls (the server holds each 30 s); A: a bare `node` process.',
    rss: 'VmHWM of the implementation after the largest PGlite throughput job.',
    startup: '`founderos-runner --version`, spawn to exit; A: `node -e 0`.',
    scale: 'N processes on one server, jobs of 10 lines enqueued at once; jobs ÷ (last completion − first enqueue).',
  }[kind];
}

function buildTable(r) {
  const rows = [];
  const cmd = (name) => `\`npm run bench --${QUICK ? ' --quick' : ''} --only=${name}\``;
  const fmt = (value, digits = 0) =>
    Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×` : '—');
  const cell = (value, unit, digits) => (value === undefined ? '—' : `${fmt(value, digits)} ${unit}`);
  /** values: { runner, before, a, b, b256 } */
  const add = (kind, figure, values, unit, digits, command) =>
    rows.push({
      kind,
      figure,
      runner: cell(values.runner, unit, digits),
      before: cell(values.before, unit, digits),
      baselineA: cell(values.a, unit, digits),
      baselineB: cell(values.b, unit, digits),
      baselineB256: cell(values.b256, unit, digits),
      ratioBefore: values.before === undefined ? '—' : ratio(values.runner, values.before),
      ratioA: values.a === undefined ? '—' : ratio(values.runner, values.a),
      ratioB: values.b === undefined ? '—' : ratio(values.runner, values.b),
      ratioB256: values.b256 === undefined ? '—' : ratio(values.runner, values.b256),
      command,
      values,
    });
  const pick = (entry, key) => ({
    runner: entry.runner?.[key],
    before: entry.before?.[key],
    b: entry.minimal?.[key],
    b256: entry.minimal256?.[key],
  });
  const power = (lines) => `10^${Math.round(Math.log10(lines))}`;

  const s = r.sections;
  const t = s.throughput;
  for (const server of ['null', 'pglite']) {
    for (const size of t?.[server] ?? []) {
      const note = size.repeats > 1 ? ` (median of ${size.repeats})` : '';
      add(
        'throughput',
        `Throughput, ${power(size.lines)} lines, ${server === 'null' ? 'null server' : 'PGlite'}${note}`,
        { ...pick(size, 'linesPerSec'), a: t.agent?.[size.lines]?.linesPerSec },
        'lines/s',
        0,
        cmd('throughput'),
      );
    }
  }
  for (const server of ['null', 'pglite']) {
    const cost = t?.[server]?.find((size) => size.lines === 1e5);
    if (cost) {
      add(
        'cpu',
        `CPU time per 10^5 lines (user+sys), ${server === 'null' ? 'null server' : 'PGlite'}`,
        pick(cost, 'cpuMs'),
        'ms',
        0,
        cmd('throughput'),
      );
    }
    if (cost && server === 'pglite') {
      add('serverCpu', '… server CPU for the same 10^5 lines (in-process PGlite)', pick(cost, 'serverCpuMs'), 'ms', 0, cmd('throughput'));
    }
  }
  const c = s.catchup;
  if (c?.runner) {
    add(
      'catchup',
      `Catch-up after an outage: ${fmt(c.lines)} lines printed while the server is down ${c.outageMs / 1000} s; its return → last line stored`,
      pick(c, 'seconds'),
      's',
      2,
      cmd('catchup'),
    );
    add('catchup', '… of which the retry wait (return → first new line stored)', pick(c, 'retryWaitSec'), 's', 2, cmd('catchup'));
    add('catchup', '… of which the drain (first → last line stored)', pick(c, 'drainSec'), 's', 2, cmd('catchup'));
  }
  const lat = s.latency;
  if (lat?.trickle) {
    const tr = lat.trickle;
    const p = (key) => ({ runner: tr.runner?.stored[key], b: tr.minimal?.stored[key], b256: tr.minimal256?.stored[key] });
    add(
      'trickle',
      `Latency write→stored p50, trickle (${tr.lines} lines, 1 per ${tr.intervalMs / 2}–${(tr.intervalMs * 3) / 2} ms)`,
      p('p50'),
      'ms',
      1,
      cmd('latency'),
    );
    add('trickle', '… p99, trickle', p('p99'), 'ms', 1, cmd('latency'));
  }
  if (lat?.load?.runner) {
    const l = lat.load;
    const p = (key) => ({ runner: l.runner?.stored[key], b: l.minimal?.stored[key], b256: l.minimal256?.stored[key] });
    const label = `${power(l.lines)} lines flat out${l.followedSeparately ? '' : ', followed throughput run'}`;
    const command = cmd(l.followedSeparately ? 'latency' : 'throughput,latency');
    add('load', `Latency write→stored p50, under load (${label})`, p('p50'), 'ms', 0, command);
    add('load', '… p99, under load', p('p99'), 'ms', 0, command);
  }
  const largest = t?.pglite?.at(-1);
  if (largest) {
    add('rss', `Peak RSS at ${power(largest.lines)} lines (PGlite)`, pick(largest, 'peakRssMb'), 'MB', 1, cmd('throughput'));
  }
  if (s.claim?.runner) {
    add(
      'claim',
      `Claim latency p50, enqueue→agent process start (${s.claim.runner.enqueueToAgentStartMs.n} jobs)`,
      { runner: s.claim.runner.enqueueToAgentStartMs.p50, b: s.claim.minimal.enqueueToAgentStartMs.p50 },
      'ms',
      1,
      cmd('claim'),
    );
    if (s.claim.runnerSandboxOff) {
      add(
        'claim',
        '… the runner with the sandbox off, as B runs (the same jobs, alternating)',
        { runner: s.claim.runnerSandboxOff.enqueueToAgentStartMs.p50, b: s.claim.minimal.enqueueToAgentStartMs.p50 },
        'ms',
        1,
        cmd('claim'),
      );
    }
  }
  if (s.sandbox?.on) {
    const sb = s.sandbox;
    const n = sb.on.enqueueToFirstLineMs.n;
    add(
      'sandbox',
      `Job start p50, enqueue → agent's first line, sandbox on (bubblewrap; ${n} jobs)`,
      { runner: sb.on.enqueueToFirstLineMs.p50 },
      'ms',
      1,
      cmd('sandbox'),
    );
    add('sandbox', '… sandbox off (the same runner, alternating)', { runner: sb.off.enqueueToFirstLineMs.p50 }, 'ms', 1, cmd('sandbox'));
    add('sandbox', '… on − off, p50 of the paired differences', { runner: sb.pairedDifferenceMs.p50 }, 'ms', 1, cmd('sandbox'));
  }
  if (s.idle?.runner) {
    const i = s.idle;
    add(
      'idle',
      `Idle CPU over ${i.seconds} s of empty long-polls (A: bare node)`,
      { runner: i.runner.cpuMs, a: i.node.cpuMs, b: i.minimal.cpuMs },
      'ms',
      0,
      cmd('idle'),
    );
    add(
      'idle',
      'Peak RSS at idle (A: bare node)',
      { runner: i.runner.peakRssMb, a: i.node.peakRssMb, b: i.minimal.peakRssMb },
      'MB',
      1,
      cmd('idle'),
    );
  }
  if (s.startup?.runnerMs) {
    add(
      'startup',
      `Start-up, \`--version\` (median of ${s.startup.runnerMs.n}; A: \`node -e 0\`)`,
      { runner: s.startup.runnerMs.p50, a: s.startup.nodeMs.p50 },
      'ms',
      1,
      cmd('startup'),
    );
  }
  for (const row of s.scale?.rows ?? []) {
    add(
      'scale',
      `Scale: ${row.db === 'pglite' ? 'PGlite' : 'PostgreSQL'}, ${row.runners} runner process${row.runners > 1 ? 'es' : ''} (${row.jobs} jobs × 10 lines)`,
      { runner: row.runner.jobsPerSec, b: row.minimal.jobsPerSec },
      'jobs/s',
      1,
      cmd('scale'),
    );
  }
  return rows;
}

function renderMarkdown(r, rows) {
  const m = r.machine;
  const lines = [];
  lines.push(`### founderos-runner benchmarks (${r.mode})`);
  lines.push('');
  lines.push(
    `\`${r.command}\` on ${m.nproc} × ${m.cpu}, ${m.memGb} GB, Node ${m.node}, ${m.platform}; load average ${m.loadavgAtStart.join(' / ')} at start, ` +
      `${m.loadavgAtEnd.join(' / ')} at end; ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.totalSec} s.`,
  );
  lines.push('');
  lines.push(
    `| Figure | ${IMPL_LABELS.runner} | ${IMPL_LABELS.before} | Baseline A | ${IMPL_LABELS.minimal} | ${IMPL_LABELS.minimal256} | Runner ÷ before | Runner ÷ A | Runner ÷ B | Runner ÷ B256 | Command |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    lines.push(
      `| ${row.figure} | ${row.runner} | ${row.before} | ${row.baselineA} | ${row.baselineB} | ${row.baselineB256} | ${row.ratioBefore} | ${row.ratioA} | ${row.ratioB} | ${row.ratioB256} | ${row.command} |`,
    );
  }
  lines.push('');
  const b = r.before;
  const beforeText = b?.bin
    ? `the runner of git revision \`${b.rev}\` (${b.commit.slice(0, 10)}), built with \`tsc -p tsconfig.build.json\` from \`git archive\` in ${b.dir} with this checkout's node_modules, run like the runner`
    : `the runner of another git revision (\`--before=<rev>\`, default ${DEFAULT_BEFORE}); ${b?.skip ? `not run: ${b.skip}` : 'not run in this selection of sections'}`;
  lines.push('Implementations:');
  lines.push('');
  lines.push(
    "- **Runner**: this checkout's `dist/bin/founderos-runner.js start`, production defaults (retry backoff 1 s doubling to 30 s).",
  );
  lines.push(`- **Runner (before)**: ${beforeText}.`);
  lines.push('- **Baseline A**: the flood agent alone writing to /dev/null (throughput), bare `node` (idle), `node -e 0` (start-up).');
  lines.push(
    '- **Baseline B**: `bench/baselines/minimal-runner.mjs`, the same protocol by hand (plain fetch, no RxJS), batches of up to 32 events ' +
      'or 50 ms, one request at a time; it stops reading the pipe while more than 2,048 events wait.',
  );
  lines.push('- **Baseline B256**: the same with `--max-batch=256` (batches of up to 256 events or 50 ms; the same 2,048-event pause).');
  lines.push('');
  lines.push('Rows:');
  lines.push('');
  const titles = {
    throughput: 'Throughput',
    cpu: 'CPU time per 10^5 lines',
    serverCpu: 'Server CPU',
    catchup: 'Catch-up after an outage',
    trickle: 'Latency, trickle',
    load: 'Latency, under load',
    claim: 'Claim latency',
    sandbox: 'Sandbox',
    idle: 'Idle',
    rss: 'Peak RSS under load',
    startup: 'Start-up',
    scale: 'Scale',
  };
  for (const kind of [...new Set(rows.map((row) => row.kind))]) lines.push(`- **${titles[kind]}**: ${how(kind)}`);
  lines.push('');
  lines.push(
    'Ratios are runner ÷ the column: higher is better for throughput and jobs/s, lower for everything else. The server is ' +
      'fresh for each measurement; every implementation runs with its production defaults.',
  );
  const load = r.sections.latency?.load;
  if (load?.runner?.stamped && load?.minimal?.stamped) {
    const f = (x) => Math.round(x).toLocaleString('en-US');
    lines.push('');
    lines.push(
      `Under load, from the line's write to its reading by the runner (the event's \`ts\`): p50 ${f(load.runner.stamped.p50)} ms for the runner, ` +
        `${f(load.minimal.stamped.p50)} ms for baseline B; from that reading to the follower: p50 ${f(load.runner.stored.p50 - load.runner.stamped.p50)} ms ` +
        `and ${f(load.minimal.stored.p50 - load.minimal.stamped.p50)} ms. The runner's agent writes to a file and never waits; the runner reads ` +
        "it as fast as it can and queues without bound (in its spool). B reads a pipe and stops once 2,048 events wait, so the agent's writes " +
        'block and no line waits for more than that backlog.',
    );
  }
  const c = r.sections.catchup;
  if (c?.runner) {
    const done = Object.entries(c)
      .filter(([, value]) => value?.impl)
      .map(
        ([, value]) =>
          `${IMPL_LABELS[value.impl]} ${value.agentDoneDuringOutage ? 'during the outage' : `${value.agentDoneAfterDownSec.toFixed(1)} s after it began`}`,
      );
    lines.push('');
    lines.push(
      `Catch-up: the agent finished printing: ${done.join('; ')} (the runners spool what the agent prints; B and B256 stop reading ` +
        "at 2,048 waiting events, so their agent's writes block until the server is back). One run each: the retry wait is random.",
    );
  }
  if (r.sections.load && !r.sections.load.error) {
    lines.push('');
    lines.push('### The control plane at scale');
    lines.push('');
    lines.push(
      'Simulated runners (bench/load/swarm.mjs) speak the runner protocol to `founderos-runner server` processes: no runner process, ' +
        'no agent. A job cycle is GET /jobs/next → claim → one batch of 10 events → complete, with jobs queued ahead through the admin ' +
        "API; the paced rows queue 10 jobs a second instead, so that each finds runners waiting. CPU is each process's user+sys time over the measured window (PostgreSQL: its " +
        'postmaster and backends, a throwaway cluster of this run with fsync off).',
    );
    lines.push('');
    lines.push(renderLoad(r.sections.load, `\`npm run bench --${QUICK ? ' --quick' : ''} --only=load\``));
  }
  for (const [name, value] of Object.entries(r.sections)) {
    if (value?.error) lines.push(`\n**${name} failed:** ${value.error.split('\n')[0]}`);
  }
  for (const note of r.notes) lines.push(`\n${note}`);
  lines.push('');
  lines.push(
    `Section times: ${Object.entries(r.durationsSec)
      .map(([name, sec]) => `${name} ${sec} s`)
      .join(', ')}.`,
  );
  return `${lines.join('\n')}\n`;
}
