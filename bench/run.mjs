#!/usr/bin/env node
/**
 * The benchmark suite of founderos-runner, against the built CLI (`npm run bench` builds first).
 *
 *   npm run bench                      # full: a few minutes on 2 cores
 *   npm run bench -- --quick           # smaller sizes, shorter windows
 *   npm run bench -- --only=throughput,claim    # sections: startup throughput latency claim idle scale
 *
 * Every figure is measured side by side with its baselines in the same run, on fresh control planes (the
 * reference server, in this process, on 127.0.0.1). Baseline A is the agent alone, or bare Node; baseline B is
 * bench/baselines/minimal-runner.mjs, a hand-written runner with no RxJS that sends the same requests.
 * Writes bench/results/latest.json and latest.md, and prints the table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  IMPLS,
  LINE_BYTES,
  RESULTS,
  RUNNER_BIN,
  agentAlone,
  cleanupAll,
  cpuMs,
  ensurePostgres,
  floodJob,
  floodJobNull,
  launch,
  memMb,
  now,
  openPlane,
  sleep,
  startImpl,
  stop,
  summary,
} from './lib.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ONLY = argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const SECTIONS = ['startup', 'throughput', 'latency', 'claim', 'idle', 'scale'];
for (const name of ONLY ?? []) {
  if (!SECTIONS.includes(name)) {
    process.stderr.write(`bench: unknown section ${JSON.stringify(name)}; sections are ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
}
const unknown = argv.filter((arg) => arg !== '--quick' && !arg.startsWith('--only='));
if (unknown.length) {
  process.stderr.write(`bench: unknown argument(s) ${unknown.join(' ')}; use --quick and/or --only=${SECTIONS.join(',')}\n`);
  process.exit(2);
}
const want = (section) => !ONLY || ONLY.includes(section);

const CONFIG = QUICK
  ? {
      throughputSizes: [1e4, 1e5],
      smallRepeats: 1, // sizes up to 10^4 are repeated (runner and baseline B alternating); the median counts
      trickle: { lines: 50, intervalMs: 100 },
      // quick: the follower rides along the 10^5 throughput run instead of a run of its own
      loadLines: 1e5,
      separateLoadRun: false,
      nullLines: 1e5,
      claimJobs: 10,
      idleSeconds: 15,
      startupRepeats: 10,
      scale: { dbs: ['pglite'], runners: [1, 4], jobs: { 1: 10, 4: 16, 16: 48 } },
    }
  : {
      throughputSizes: [1e4, 1e5, 1e6],
      smallRepeats: 3,
      trickle: { lines: 100, intervalMs: 100 },
      loadLines: 1e5,
      separateLoadRun: true,
      nullLines: 1e5,
      claimJobs: 20,
      idleSeconds: 60,
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

// ------------------------------------------------------------------ throughput

await section('throughput', async () => {
  const sizes = [];
  for (const lines of CONFIG.throughputSizes) {
    const repeats = lines <= 1e4 ? CONFIG.smallRepeats : 1;
    const runs = { agent: [], runner: [], minimal: [] };
    for (let i = 0; i < repeats; i++) {
      runs.agent.push(await agentAlone(lines));
      // Alternate which goes first, so that a drift of the machine's load does not favour one.
      for (const impl of i % 2 ? [...IMPLS].reverse() : IMPLS) {
        const follow = !CONFIG.separateLoadRun && lines === CONFIG.loadLines;
        progress(
          `throughput ${lines.toLocaleString('en-US')} lines: ${impl}${repeats > 1 ? ` (${i + 1}/${repeats})` : ''}${follow ? ', followed' : ''}`,
        );
        runs[impl].push(await floodJob(impl, { lines }, { follow }));
      }
    }
    const pick = (list) => [...list].sort((a, b) => a.linesPerSec - b.linesPerSec)[Math.floor((list.length - 1) / 2)];
    sizes.push({ lines, repeats, agent: pick(runs.agent), runner: pick(runs.runner), minimal: pick(runs.minimal), all: runs });
  }
  // The same flood against a server that stores nothing: the runner's own limit, without PGlite's.
  const nullServer = { lines: CONFIG.nullLines, agent: await agentAlone(CONFIG.nullLines) };
  for (const impl of IMPLS) {
    progress(`throughput ${CONFIG.nullLines.toLocaleString('en-US')} lines, null server: ${impl}`);
    nullServer[impl] = await floodJobNull(impl, { lines: CONFIG.nullLines });
  }
  return { sizes, nullServer };
});

// ------------------------------------------------------------------ latency

await section('latency', async () => {
  const { lines, intervalMs } = CONFIG.trickle;
  progress(
    `latency: trickle of ${lines} lines, one every ${intervalMs / 2}–${(intervalMs * 3) / 2} ms (runner and baseline B at once, each on its own server)`,
  );
  const [runner, minimal] = await Promise.all(IMPLS.map((impl) => floodJob(impl, { lines, intervalMs, jitter: true }, { follow: true })));
  const trickle = { lines, intervalMs, runner: runner.latency, minimal: minimal.latency };
  let load;
  if (CONFIG.separateLoadRun) {
    load = { lines: CONFIG.loadLines, followedSeparately: true };
    for (const impl of IMPLS) {
      progress(`latency under load: ${CONFIG.loadLines.toLocaleString('en-US')} lines flat out: ${impl}`);
      const run = await floodJob(impl, { lines: CONFIG.loadLines }, { follow: true });
      load[impl] = { ...run.latency, linesPerSec: run.linesPerSec };
    }
  } else {
    const size = results.sections.throughput?.sizes?.find((entry) => entry.lines === CONFIG.loadLines);
    if (!size) throw new Error(`latency under load rides along the ${CONFIG.loadLines} throughput run: run the throughput section too`);
    load = { lines: CONFIG.loadLines, followedSeparately: false, runner: size.runner.latency, minimal: size.minimal.latency };
  }
  return { trickle, load };
});

// ------------------------------------------------------------------ claim latency

await section('claim', async () => {
  const sides = [];
  try {
    for (const impl of IMPLS) {
      const plane = await openPlane('pglite');
      const proc = startImpl(impl, plane.url, await plane.token());
      sides.push({ impl, plane, proc, total: [], claim: [], spawn: [] });
      await plane.waitPolling(1);
    }
    // One warm-up job each (the runner asks the agent binary for its --version on its first job), then alternate.
    for (let i = -1; i < CONFIG.claimJobs; i++) {
      for (const side of i % 2 ? sides : [...sides].reverse()) {
        await sleep(250); // the runner is back in its long-poll
        const enqueuedAt = now();
        const job = await side.plane.enqueue({ lines: 0 });
        await side.plane.waitJobs(i + 2, 30_000, () => `; ${side.impl} stderr:\n${side.proc.stderr()}`);
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
        side.impl,
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

// ------------------------------------------------------------------ report

await cleanupAll();
results.finishedAt = new Date().toISOString();
results.totalSec = Number(((now() - benchStart) / 1000).toFixed(1));
results.machine.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));

const table = buildTable(results);
results.table = table;
const markdown = renderMarkdown(results, table);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(RESULTS, 'latest.md'), markdown);
process.stdout.write(`${markdown}\n`);
progress(`done in ${results.totalSec} s; wrote bench/results/latest.json and latest.md`);
const failures = Object.entries(results.sections).filter(([, value]) => value?.error);
process.exit(failures.length ? 1 : 0);

// ------------------------------------------------------------------ formatting

function buildTable(r) {
  const rows = [];
  const cmd = (name) => `\`npm run bench --${QUICK ? ' --quick' : ''} --only=${name}\``;
  const fmt = (value, digits = 0) =>
    Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×` : '—');
  const add = (figure, runner, a, b, unit, digits, command) =>
    rows.push({
      figure,
      runner: runner === undefined ? '—' : `${fmt(runner, digits)} ${unit}`,
      baselineA: a === undefined ? '—' : `${fmt(a, digits)} ${unit}`,
      baselineB: b === undefined ? '—' : `${fmt(b, digits)} ${unit}`,
      ratioA: a === undefined ? '—' : ratio(runner, a),
      ratioB: b === undefined ? '—' : ratio(runner, b),
      command,
      values: { runner, a, b },
    });

  const s = r.sections;
  for (const size of s.throughput?.sizes ?? []) {
    const label = `10^${Math.round(Math.log10(size.lines))}`;
    const note = size.repeats > 1 ? ` (median of ${size.repeats})` : '';
    add(
      `Throughput, ${label} lines${note}`,
      size.runner.linesPerSec,
      size.agent.linesPerSec,
      size.minimal.linesPerSec,
      'lines/s',
      0,
      cmd('throughput'),
    );
    add(
      `… same, MB/s (${LINE_BYTES}-byte lines)`,
      size.runner.mbPerSec,
      size.agent.mbPerSec,
      size.minimal.mbPerSec,
      'MB/s',
      2,
      cmd('throughput'),
    );
  }
  const nul = s.throughput?.nullServer;
  if (nul?.runner) {
    const label = `10^${Math.round(Math.log10(nul.lines))}`;
    add(
      `Throughput, ${label} lines, null server (stores nothing: the runner's own limit)`,
      nul.runner.linesPerSec,
      nul.agent.linesPerSec,
      nul.minimal.linesPerSec,
      'lines/s',
      0,
      cmd('throughput'),
    );
    add(`… CPU time for those ${label} lines (user+sys)`, nul.runner.cpuMs, undefined, nul.minimal.cpuMs, 'ms', 0, cmd('throughput'));
  }
  const lat = s.latency;
  if (lat?.trickle) {
    const t = lat.trickle;
    add(
      `Latency write→stored p50, trickle (${t.lines} lines, 1 per ${t.intervalMs / 2}–${(t.intervalMs * 3) / 2} ms)`,
      t.runner.stored.p50,
      undefined,
      t.minimal.stored.p50,
      'ms',
      1,
      cmd('latency'),
    );
    add('… p99, trickle', t.runner.stored.p99, undefined, t.minimal.stored.p99, 'ms', 1, cmd('latency'));
  }
  if (lat?.load?.runner) {
    const l = lat.load;
    const label = `10^${Math.round(Math.log10(l.lines))} lines flat out${l.followedSeparately ? '' : ', followed throughput run'}`;
    add(
      `Latency write→stored p50, under load (${label})`,
      l.runner.stored.p50,
      undefined,
      l.minimal.stored.p50,
      'ms',
      0,
      cmd(l.followedSeparately ? 'latency' : 'throughput,latency'),
    );
    add(
      '… p99, under load',
      l.runner.stored.p99,
      undefined,
      l.minimal.stored.p99,
      'ms',
      0,
      cmd(l.followedSeparately ? 'latency' : 'throughput,latency'),
    );
  }
  if (s.claim?.runner) {
    add(
      `Claim latency p50, enqueue→agent process start (${s.claim.runner.enqueueToAgentStartMs.n} jobs)`,
      s.claim.runner.enqueueToAgentStartMs.p50,
      undefined,
      s.claim.minimal.enqueueToAgentStartMs.p50,
      'ms',
      1,
      cmd('claim'),
    );
  }
  const cost = s.throughput?.sizes?.find((size) => size.lines === 1e5);
  if (cost) {
    add('CPU time per 10^5 lines (user+sys)', cost.runner.cpuMs, undefined, cost.minimal.cpuMs, 'ms', 0, cmd('throughput'));
    add(
      '… server CPU for the same 10^5 lines (in-process PGlite)',
      cost.runner.serverCpuMs,
      undefined,
      cost.minimal.serverCpuMs,
      'ms',
      0,
      cmd('throughput'),
    );
  }
  if (s.idle?.runner) {
    const i = s.idle;
    add(
      `Idle CPU over ${i.seconds} s of empty long-polls (A: bare node)`,
      i.runner.cpuMs,
      i.node.cpuMs,
      i.minimal.cpuMs,
      'ms',
      0,
      cmd('idle'),
    );
    add('Peak RSS at idle (A: bare node)', i.runner.peakRssMb, i.node.peakRssMb, i.minimal.peakRssMb, 'MB', 1, cmd('idle'));
  }
  const largest = s.throughput?.sizes?.at(-1);
  if (largest) {
    add(
      `Peak RSS under the largest load (10^${Math.round(Math.log10(largest.lines))} lines)`,
      largest.runner.peakRssMb,
      undefined,
      largest.minimal.peakRssMb,
      'MB',
      1,
      cmd('throughput'),
    );
  }
  if (s.startup?.runnerMs) {
    add(
      `Start-up, \`--version\` (median of ${s.startup.runnerMs.n}; A: \`node -e 0\`)`,
      s.startup.runnerMs.p50,
      s.startup.nodeMs.p50,
      undefined,
      'ms',
      1,
      cmd('startup'),
    );
  }
  for (const row of s.scale?.rows ?? []) {
    add(
      `Scale: ${row.db === 'pglite' ? 'PGlite' : 'PostgreSQL'}, ${row.runners} runner process${row.runners > 1 ? 'es' : ''} (${row.jobs} jobs × 10 lines)`,
      row.runner.jobsPerSec,
      undefined,
      row.minimal.jobsPerSec,
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
  lines.push('| Figure | Runner | Baseline A | Baseline B | Runner ÷ A | Runner ÷ B | Command |');
  lines.push('|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    lines.push(`| ${row.figure} | ${row.runner} | ${row.baselineA} | ${row.baselineB} | ${row.ratioA} | ${row.ratioB} | ${row.command} |`);
  }
  lines.push('');
  lines.push(
    'Baseline A: the flood agent alone writing to /dev/null (throughput), bare `node` (idle), `node -e 0` (start-up). ' +
      'Baseline B: `bench/baselines/minimal-runner.mjs`, the same protocol by hand (plain fetch, no RxJS; it stops reading the ' +
      'pipe while more than 2,048 events wait). Throughput: lines ÷ (job completion − agent process start); the completion is ' +
      "sent only after every batch was accepted. Latency: the line's write time (in it) to its receipt by an admin " +
      'follower (`listEvents` with `waitMs`). Ratios are runner ÷ baseline: higher is better for throughput and jobs/s, ' +
      'lower for everything else. The server is the reference control plane in the bench process (PGlite in memory unless ' +
      'noted), fresh for each measurement; runners run with their production defaults.',
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
