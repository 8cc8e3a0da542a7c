#!/usr/bin/env node
/**
 * The control plane at scale: `founderos-runner server` processes under simulated runners (bench/load/swarm.mjs)
 * that speak the runner protocol directly, no runner process and no agent. Side by side with the server of another
 * revision (`--server-before`, default b272cb7: the control plane before issue 22), built from `git archive`.
 *
 *   npm run bench -- --only=load            # the section of the full bench; `--quick` for the short CI variant
 *   node bench/load.mjs [--quick] [--server-before=<rev>|none]   # this section alone (after `npm run build`);
 *                                                   # writes bench/results/load.json and load.md
 *   node bench/load.mjs --profile=postgres|pglite   # a CPU profile of one server under the job cycles, with the
 *                                                   # CPU of the server, PostgreSQL and the load generator per cycle
 *   node bench/load.mjs --profile=pglite --idle=10000   # … with that many long-polls waiting instead
 *
 * Measured, each on fresh servers and a fresh database:
 * - memory: a PGlite server's RSS idle after its first start and after a restart, beside a runner's idle RSS;
 * - idle: N long-polls waiting (nothing queued): the server's CPU, its RSS growth, /healthz latency;
 * - cycles: 64 runners flat out (poll → claim → one batch → complete), jobs queued ahead of them through the admin
 *   API: job cycles per second, enqueue → claim latency, CPU per cycle of the server, PostgreSQL and the load
 *   generator; on PostgreSQL with 1, 2 and 4 server processes on one database;
 * - paced: the same runners with 10 jobs queued per second, far below what the machine takes, so that each job
 *   finds runners waiting and enqueue → claim is the wake-up path;
 * - events: batches of 256 events: events stored per second.
 * PostgreSQL is a throwaway cluster of the run (fsync and synchronous commits off, as for the tests), so that
 * its CPU is its own. Figures are per measured window, after a warm-up.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_WAIT_SEC } from '../dist/protocol/prefer-wait.js';
import { DEFAULT_LONG_POLL_WAIT_SEC } from '../dist/runner/long-poll-wait.js';
import { analyseProfile, renderProfile } from './cpu-profile.mjs';
import {
  RESULTS,
  RUNNER_BIN,
  WORK,
  buildRevision,
  childEnv,
  cleanupAll,
  cpuMs,
  launch,
  memMb,
  now,
  postgresCpuMs,
  postgresPids,
  privatePostgres,
  sleep,
  stop,
  summary,
} from './lib.mjs';

const SWARM = fileURLToPath(new URL('./load/swarm.mjs', import.meta.url));
const FLOOR_SERVER = fileURLToPath(new URL('./load/floor-server.mjs', import.meta.url));
/** The control plane before issue 22 (a waiting long-poll re-authenticated and re-queried once a second). */
export const DEFAULT_SERVER_BEFORE = 'b272cb7';

export const LOAD_CONFIG = {
  quick: {
    idle: [{ db: 'pglite', polls: 1000 }],
    idleWindowMs: 5000,
    cycles: [
      { db: 'pglite', servers: 1 },
      { db: 'postgres', servers: 1 },
    ],
    paced: [],
    events: [],
    runners: 16,
    warmupMs: 1000,
    windowMs: 3000,
    before: false,
  },
  full: {
    // Held 30 s: runners of Part 1, and every runner until its server shows it applies waits. Held longer: a
    // runner asking its default wait of a server that applies it (Part 2, Prefer: wait).
    idle: [
      { db: 'pglite', polls: 1000, before: true },
      { db: 'pglite', polls: 10_000 },
      { db: 'floor', polls: 10_000 },
      { db: 'pglite', polls: 10_000, waitSec: DEFAULT_LONG_POLL_WAIT_SEC },
      { db: 'postgres', polls: 10_000, waitSec: DEFAULT_LONG_POLL_WAIT_SEC },
      { db: 'floor', polls: 10_000, waitSec: DEFAULT_LONG_POLL_WAIT_SEC },
    ],
    idleWindowMs: 30_000,
    cycles: [
      { db: 'pglite', servers: 1, before: true },
      { db: 'postgres', servers: 1, before: true },
      { db: 'postgres', servers: 2 },
      { db: 'postgres', servers: 4 },
    ],
    paced: [
      { db: 'pglite', servers: 1, before: true },
      { db: 'postgres', servers: 1, before: true },
    ],
    events: [
      { db: 'pglite', servers: 1, before: true },
      { db: 'postgres', servers: 1, before: true },
      { db: 'postgres', servers: 2 },
    ],
    runners: 64,
    warmupMs: 3000,
    windowMs: 10_000,
    before: true,
  },
};

/** One job cycle: one batch of this many events. */
const CYCLE_BATCH = 10;
const EVENTS = { batches: 8, batchSize: 256 };
const PACED_PER_SEC = 10;
/** Long-polls per token in the idle runs: the server's default cap is 100. */
const POLLS_PER_TOKEN = 100;
/** How long an idle row's polls are held: the protocol's 30 s, or the wait they ask for. */
const heldFor = (row) => (row.waitSec === undefined ? `held ${PROTOCOL_WAIT_SEC} s` : `held ${row.waitSec} s (Prefer: wait)`);

// ------------------------------------------------------------------ servers

/** `founderos-runner server` of a build on a free port; resolves once it listens. */
async function startServer(bin, { databaseUrl, dataDir, adminKey, nodeArgs = [], serverArgs = [] }) {
  const args = [
    ...nodeArgs,
    bin,
    'server',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--no-ui',
    ...serverArgs,
    ...(databaseUrl ? ['--database-url', databaseUrl] : []),
  ];
  const proc = launch(process.execPath, args, {
    env: childEnv(dataDir, { FOUNDEROS_ADMIN_KEY: adminKey }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { ...proc, url: await listeningUrl(proc, 'the server') };
}

/** The URL a `launch`ed server prints as "listening on <url>" once it listens; throws if it exits or takes 120 s. */
async function listeningUrl(proc, name) {
  let out = '';
  proc.child.stdout.setEncoding('utf8').on('data', (text) => {
    out += text;
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url) return url;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not start: ${out.trim()} ${proc.stderr().trim()}`.slice(0, 600));
    }
    await sleep(50);
  }
}

async function admin(server, adminKey, method, path, body) {
  const res = await fetch(`${server.url}/api/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A fresh database on the private cluster, dropped afterwards. */
async function freshPostgresDatabase(pg) {
  const { default: pgClient } = await import('pg');
  const name = `founderos_load_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const run = async (sql, connectionString = pg.url) => {
    const client = new pgClient.Client({ connectionString });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(pg.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    query: (sql) => run(sql, url.toString()),
    drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * `count` servers of `bin` on one database (a fresh PostgreSQL database, or PGlite in a fresh data dir for one
 * server), a company, and one token per `tokens`. `close()` stops them and drops the database.
 */
async function startFleet(bin, { db, count, tokens, pg, nodeArgs, serverArgs }) {
  const adminKey = randomBytes(24).toString('hex');
  const database = db === 'postgres' ? await freshPostgresDatabase(pg) : undefined;
  const dirs = [];
  const servers = [];
  const close = async () => {
    await Promise.all(servers.map((server) => stop(server)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  };
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = mkdtempSync(join(WORK, 'server-'));
      dirs.push(dataDir);
      // One after the other: the first applies the migrations.
      servers.push(await startServer(bin, { databaseUrl: database?.url, dataDir, adminKey, nodeArgs, serverArgs }));
    }
    const companyId = `load-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
    const made = [];
    for (let i = 0; i < tokens; i++)
      made.push((await admin(servers[i % count], adminKey, 'POST', '/tokens', { companyId, name: `r${i}` })).token);
    return { servers, adminKey, companyId, tokens: made, database, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// ------------------------------------------------------------------ one measurement

/** /healthz every 50 ms on one server while `signal` is not aborted; resolves to the latencies (ms). */
async function probeHealth(url, signal) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  while (!signal.aborted) {
    const started = now();
    await new Promise((resolve) => {
      const req = get(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', resolve);
    });
    latencies.push(now() - started);
    await sleep(50);
  }
  agent.destroy();
  return latencies;
}

/**
 * Runs a swarm against a fleet and reads the CPU of the servers, PostgreSQL and the swarm itself over the swarm's
 * measured window, the servers' RSS before and after, and (with `health`) /healthz latency during the window.
 */
async function measure(fleet, spec, { pg, health = false, onWindow }) {
  const rssBefore = fleet.servers.map((server) => memMb(server.pid, 'VmRSS'));
  const swarm = launch(process.execPath, [SWARM, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sample = () => ({
    at: now(),
    servers: fleet.servers.map((server) => cpuMs(server.pid)),
    postgres: pg && fleet.database ? postgresCpuMs(pg) : 0,
    swarm: cpuMs(swarm.pid),
  });
  let start;
  let end;
  let result;
  let opened;
  const healthStop = new AbortController();
  let healthProbe;
  let buffered = '';
  const done = new Promise((resolve, reject) => {
    swarm.child.stdout.setEncoding('utf8').on('data', (text) => {
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (line.event === 'opened') opened = { ...line, rssMb: fleet.servers.map((server) => memMb(server.pid, 'VmRSS')) };
        if (line.event === 'window-start') {
          start = sample();
          onWindow?.start({ servers: fleet.servers.map((server) => server.pid), swarm: swarm.pid });
          if (health) healthProbe = probeHealth(fleet.servers[0].url, healthStop.signal);
        }
        if (line.event === 'window-end') {
          end = sample();
          healthStop.abort();
          onWindow?.end();
        }
        if (line.event === 'result') result = line;
      }
    });
    swarm.exited.then(({ code }) => (result ? resolve() : reject(new Error(`the swarm exited ${code}: ${swarm.stderr().slice(-500)}`))));
  });
  await done;
  const healthMs = healthProbe ? summary(await healthProbe) : undefined;
  const seconds = (end.at - start.at) / 1000;
  // Percent of a core, to a tenth: an idle server's few percent are what is judged.
  const percentOf = (ms) => Math.round(ms / seconds) / 10;
  const cpuPct = (key) => percentOf(end[key] - start[key]);
  const serverCpuMs = end.servers.reduce((sum, ms, i) => sum + ms - start.servers[i], 0);
  return {
    seconds,
    cyclesPerSec: result.cycles / result.windowSec,
    eventsPerSec: result.events / result.windowSec,
    claimLatencyMs: summary(result.claimLatencyMs),
    enqueueAnsweredMs: summary(result.enqueueAnsweredMs),
    pollAnsweredMs: summary(result.pollAnsweredMs),
    statuses: result.statuses,
    claimedTwice: result.claimedTwice,
    serverCpuPct: percentOf(serverCpuMs),
    serverCpuPctEach: end.servers.map((ms, i) => percentOf(ms - start.servers[i])),
    postgresCpuPct: cpuPct('postgres'),
    swarmCpuPct: cpuPct('swarm'),
    cpuMsPerCycle: result.cycles
      ? {
          server: serverCpuMs / result.cycles,
          postgres: (end.postgres - start.postgres) / result.cycles,
          loadGenerator: (end.swarm - start.swarm) / result.cycles,
        }
      : undefined,
    rssMb: { before: rssBefore, opened: opened?.rssMb, after: fleet.servers.map((server) => memMb(server.pid, 'VmRSS')) },
    peakRssMb: fleet.servers.map((server) => memMb(server.pid, 'VmHWM')),
    healthMs,
    pollsAnswered: result.pollsAnswered,
  };
}

/** Jobs of the fleet's database claimed more than once (a second claim counts a second attempt). */
async function claimedTwiceInDatabase(fleet) {
  if (!fleet.database) return undefined;
  const { rows } = await fleet.database.query(`SELECT count(*)::integer AS n FROM jobs WHERE attempt > 1`);
  return rows[0].n;
}

/**
 * `runners` simulated runners in job cycles against `servers` servers of `bin` on `db`. `work`: { batches, batchSize }
 * per job; `pace`: jobs queued per second, else as many as the runners take (`2 × runners` kept queued ahead).
 */
export async function runCycles(bin, { db, servers, runners, warmupMs, windowMs, pg, nodeArgs, onWindow }, work, pace) {
  const fleet = await startFleet(bin, { db, count: servers, tokens: runners, pg, nodeArgs });
  try {
    const enqueue = { adminKey: fleet.adminKey, companyId: fleet.companyId };
    Object.assign(enqueue, pace ? { ratePerSec: pace } : { backlog: runners * 2, inflight: 16 });
    const spec = { mode: 'cycle', servers: fleet.servers.map((s) => s.url), tokens: fleet.tokens, warmupMs, windowMs, enqueue, ...work };
    const result = await measure(fleet, spec, { pg, onWindow });
    return { ...result, claimedTwiceInDatabase: await claimedTwiceInDatabase(fleet) };
  } finally {
    await fleet.close();
  }
}

/**
 * The swarm's idle mode: `polls` long-polls opened over 25 s, `POLLS_PER_TOKEN` per token, each asking to be held
 * `waitSec` when given (as a runner does once its server applies waits), else held the protocol's 30 s.
 */
const idleSpec = (fleet, tokens, { polls, windowMs, waitSec }) => ({
  mode: 'idle',
  servers: fleet.servers.map((s) => s.url),
  tokens,
  polls,
  pollsPerToken: POLLS_PER_TOKEN,
  rampPerSec: Math.ceil(polls / 25),
  warmupMs: 2000,
  // At least one whole window: every poll ends and polls again once within it.
  windowMs: Math.max(windowMs, (waitSec ?? PROTOCOL_WAIT_SEC) * 1000),
  waitSec,
});

/** `polls` long-polls waiting on one server of `bin` on `db`, nothing queued: its CPU, RSS and /healthz latency. */
export async function runIdle(bin, { db, polls, windowMs, waitSec, pg, nodeArgs, serverArgs, onWindow }) {
  const fleet = await startFleet(bin, { db, count: 1, tokens: Math.ceil(polls / POLLS_PER_TOKEN), pg, nodeArgs, serverArgs });
  try {
    return await measure(fleet, idleSpec(fleet, fleet.tokens, { polls, windowMs, waitSec }), { pg, health: true, onWindow });
  } finally {
    await fleet.close();
  }
}

/** The same idle polls held by bench/load/floor-server.mjs: what node:http alone costs for them. */
async function runIdleFloor({ polls, windowMs, waitSec, onWindow }) {
  const proc = launch(process.execPath, [FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const fleet = { servers: [{ ...proc, url: await listeningUrl(proc, 'the floor server') }] };
    const tokens = Array.from({ length: Math.ceil(polls / POLLS_PER_TOKEN) }, () => 'unused');
    return await measure(fleet, idleSpec(fleet, tokens, { polls, windowMs, waitSec }), { health: true, onWindow });
  } finally {
    await stop(proc);
  }
}

// ------------------------------------------------------------------ the section

/** `cfg`: LOAD_CONFIG.quick or .full; `progress(text)` reports. Resolves to the section's results. */
export async function runLoad(cfg, { progress, serverBefore = DEFAULT_SERVER_BEFORE }) {
  const out = { config: cfg, loadavgAtStart: loadavg(), memory: {}, idle: [], cycles: [], paced: [], events: [], notes: [] };
  const builds = { this: RUNNER_BIN };
  if (cfg.before && serverBefore !== 'none') {
    progress(`load: building the server of ${serverBefore} (git archive + tsc, reused when built before)…`);
    const built = await buildRevision(serverBefore);
    if (built.bin) {
      builds.before = built.bin;
      out.before = { rev: serverBefore, commit: built.commit };
    } else out.notes.push(`The server before (${serverBefore}) was not run: ${built.skip}.`);
  }
  const pgInfo = await privatePostgres();
  const pg = pgInfo.skip ? undefined : pgInfo;
  if (!pg) out.notes.push(`PostgreSQL rows skipped: ${pgInfo.skip}.`);
  const wanted = (row) => (row.db === 'postgres' ? pg !== undefined : true);
  const versions = (row) => Object.keys(builds).filter((build) => build === 'this' || row.before);

  // Memory: a PGlite server idle after its first start and after a restart, and a runner idle beside it.
  for (const build of Object.keys(builds)) {
    progress(`load: memory of the PGlite server (${build})`);
    out.memory[build] = await serverMemory(builds[build], build === 'this');
  }

  for (const row of cfg.idle.filter(wanted)) {
    if (row.db === 'floor') {
      progress(`load: ${row.polls.toLocaleString('en-US')} idle long-polls ${heldFor(row)} on a bare node:http server (the floor)`);
      const machine = machineProfiler(undefined);
      const result = await runIdleFloor({ ...row, windowMs: cfg.idleWindowMs, onWindow: machine.onWindow });
      out.idle.push({ ...row, build: 'floor', ...result, machineCores: await machine.cores() });
      continue;
    }
    for (const build of versions(row)) {
      progress(`load: ${row.polls.toLocaleString('en-US')} idle long-polls ${heldFor(row)} on ${row.db} (${build})`);
      const machine = machineProfiler(pg);
      const result = await runIdle(builds[build], { ...row, windowMs: cfg.idleWindowMs, pg, onWindow: machine.onWindow });
      out.idle.push({ ...row, build, ...result, machineCores: await machine.cores() });
    }
  }

  const cycleRun = (kind, row, build, work, pace) => {
    progress(`load: ${kind} on ${row.db}, ${row.servers} server${row.servers > 1 ? 's' : ''}, ${cfg.runners} runners (${build})`);
    const machine = machineProfiler(pg);
    const settings = { ...row, runners: cfg.runners, warmupMs: cfg.warmupMs, windowMs: cfg.windowMs, pg, onWindow: machine.onWindow };
    return runCycles(builds[build], settings, work, pace).then(async (result) => ({
      ...row,
      build,
      ...result,
      machineCores: await machine.cores(),
    }));
  };
  for (const row of cfg.cycles.filter(wanted)) {
    for (const build of versions(row)) out.cycles.push(await cycleRun('job cycles', row, build, { batches: 1, batchSize: CYCLE_BATCH }));
  }
  for (const row of cfg.paced.filter(wanted)) {
    for (const build of versions(row)) {
      out.paced.push(await cycleRun(`${PACED_PER_SEC} jobs/s`, row, build, { batches: 1, batchSize: CYCLE_BATCH }, PACED_PER_SEC));
    }
  }
  for (const row of cfg.events.filter(wanted)) {
    for (const build of versions(row)) out.events.push(await cycleRun('events', row, build, EVENTS));
  }
  out.loadavgAtEnd = loadavg();
  return out;
}

/**
 * RSS (VmRSS, 5 s after it listens, no request made) of a PGlite server on a new data dir, then again restarted
 * on it; with `withRunner`, a runner's RSS idle against the restarted server beside it.
 */
async function serverMemory(bin, withRunner) {
  const dataDir = mkdtempSync(join(WORK, 'memory-'));
  const adminKey = randomBytes(24).toString('hex');
  const idleRss = async (server) => {
    await sleep(5000);
    return { rssMb: memMb(server.pid, 'VmRSS'), peakRssMb: memMb(server.pid, 'VmHWM') };
  };
  try {
    let server = await startServer(bin, { dataDir, adminKey });
    const firstStart = await idleRss(server);
    await stop(server);
    server = await startServer(bin, { dataDir, adminKey });
    const restart = await idleRss(server);
    let runner;
    if (withRunner) {
      const { token } = await admin(server, adminKey, 'POST', '/tokens', { companyId: 'memory', name: 'runner' });
      const home = mkdtempSync(join(WORK, 'runner-'));
      const proc = launch(process.execPath, [RUNNER_BIN, 'start', `--server-url=${server.url}`], {
        env: childEnv(home, { FOUNDEROS_RUNNER_TOKEN: token }),
        cwd: home,
      });
      runner = await idleRss(proc);
      await stop(proc);
      rmSync(home, { recursive: true, force: true });
    }
    await stop(server);
    return { firstStart, restart, runner };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ the table

/** The section's rows: figure, this server, the server before, this ÷ before, how it is measured. */
export function loadRows(load, command) {
  const rows = [];
  const fmt = (value, digits = 0) =>
    Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×` : '—');
  const add = (figure, mine, theirs, unit, digits) =>
    rows.push({
      figure,
      this: mine === undefined ? '—' : `${fmt(mine, digits)} ${unit}`,
      before: theirs === undefined ? '—' : `${fmt(theirs, digits)} ${unit}`,
      ratio: ratio(mine, theirs),
      command,
    });
  const db = (row) => ({ pglite: 'PGlite', postgres: 'PostgreSQL', floor: 'bare node:http, the floor' })[row.db];
  const servers = (row) => `${row.servers} server${row.servers > 1 ? 's' : ''}`;
  /** The cores the rest of the machine (other work than this measurement's) took meanwhile, when perf could tell. */
  const elsewhere = (mine, theirs) => {
    const others = (run) => run?.machineCores?.['everything else on the machine'];
    if (others(mine))
      add(
        '… meanwhile, the rest of the machine used (cores)',
        others(mine).user + others(mine).kernel,
        theirs && others(theirs) && others(theirs).user + others(theirs).kernel,
        '',
        2,
      );
  };
  const pair = (list, match) => [list.find((r) => match(r) && r.build === 'this'), list.find((r) => match(r) && r.build === 'before')];

  const m = load.memory;
  if (m.this) {
    add('PGlite server idle RSS, first start (new data dir)', m.this.firstStart.rssMb, m.before?.firstStart.rssMb, 'MB', 0);
    add('PGlite server idle RSS, after a restart', m.this.restart.rssMb, m.before?.restart.rssMb, 'MB', 0);
    add('… beside it, the runner idle (RSS)', m.this.runner?.rssMb, undefined, 'MB', 0);
  }
  for (const idle of load.idle.filter((r) => r.build === 'this' || r.build === 'floor')) {
    const [, before] = pair(load.idle, (r) => r.db === idle.db && r.polls === idle.polls && r.waitSec === idle.waitSec);
    const label = `${fmt(idle.polls)} idle long-polls ${heldFor(idle)}, ${db(idle)}`;
    add(`${label}: server CPU (% of a core)`, idle.serverCpuPct, before?.serverCpuPct, '%', 1);
    if (idle.db === 'postgres' || before?.db === 'postgres')
      add('… PostgreSQL meanwhile (% of a core)', idle.postgresCpuPct, before?.postgresCpuPct, '%', 1);
    const growth = (r) => r.rssMb.after[0] - r.rssMb.before[0];
    add(`… server RSS growth with the polls open`, growth(idle), before && growth(before), 'MB', 0);
    add(`… /healthz p99 (p50 ${fmt(idle.healthMs.p50, 1)} ms)`, idle.healthMs.p99, before?.healthMs.p99, 'ms', 1);
    add('… polls answered per second (each ends after its wait and polls again)', idle.pollsAnswered / idle.seconds, undefined, '/s', 0);
    elsewhere(idle, before);
  }
  /**
   * What one `unit` cost in CPU (`cpu`: ms by process), shown per `shownPer` units, and how many a core holds at that
   * cost: the figure per core, where the 2 shared cores stop a run short.
   */
  const addCpu = (unit, cpu, beforeCpu, shownPer = 1) => {
    if (!cpu) return;
    const total = (c) => c && c.server + c.postgres + c.loadGenerator;
    const ms = (x) => fmt(x * shownPer, 2);
    const per = shownPer === 1 ? unit : `${fmt(shownPer, 0)} ${unit}s`;
    add(
      `… CPU per ${per}: server ${ms(cpu.server)} + PostgreSQL ${ms(cpu.postgres)} + load generator ${ms(cpu.loadGenerator)} ms`,
      total(cpu) * shownPer,
      beforeCpu && total(beforeCpu) * shownPer,
      'ms',
      2,
    );
    add(`… per core (1,000 ms ÷ CPU per ${unit})`, 1000 / total(cpu), beforeCpu && 1000 / total(beforeCpu), '/s', 0);
  };
  // Over the window's events, not its finished cycles: a cycle of 8 batches of 256 often ends after the window.
  const cpuPerEvent = (r) =>
    r && {
      server: (r.serverCpuPct * 10) / r.eventsPerSec,
      postgres: (r.postgresCpuPct * 10) / r.eventsPerSec,
      loadGenerator: (r.swarmCpuPct * 10) / r.eventsPerSec,
    };
  for (const cycle of load.cycles.filter((r) => r.build === 'this')) {
    const [, before] = pair(load.cycles, (r) => r.db === cycle.db && r.servers === cycle.servers);
    const label = `Job cycles, ${db(cycle)}, ${servers(cycle)}, ${load.config.runners} runners`;
    add(label, cycle.cyclesPerSec, before?.cyclesPerSec, '/s', 0);
    elsewhere(cycle, before);
    add('… enqueue → claim p50, flat out', cycle.claimLatencyMs.p50, before?.claimLatencyMs.p50, 'ms', 1);
    addCpu('cycle', cycle.cpuMsPerCycle, before?.cpuMsPerCycle);
  }
  for (const paced of load.paced.filter((r) => r.build === 'this')) {
    const [, before] = pair(load.paced, (r) => r.db === paced.db);
    add(
      `Enqueue → claim p50, ${PACED_PER_SEC} jobs/s, ${db(paced)}, ${load.config.runners} runners`,
      paced.claimLatencyMs.p50,
      before?.claimLatencyMs.p50,
      'ms',
      1,
    );
    add('… p99', paced.claimLatencyMs.p99, before?.claimLatencyMs.p99, 'ms', 1);
    // Where it goes: the admin API's insert, the wake-up that answers a waiting poll, the claim's round trip.
    add('… of which: enqueue answered, p50', paced.enqueueAnsweredMs?.p50, before?.enqueueAnsweredMs?.p50, 'ms', 1);
    add('… of which: waiting poll answered, p50', paced.pollAnsweredMs?.p50, before?.pollAnsweredMs?.p50, 'ms', 1);
    elsewhere(paced, before);
  }
  for (const events of load.events.filter((r) => r.build === 'this')) {
    const [, before] = pair(load.events, (r) => r.db === events.db && r.servers === events.servers);
    add(`Events stored, batches of 256, ${db(events)}, ${servers(events)}`, events.eventsPerSec, before?.eventsPerSec, '/s', 0);
    addCpu('event', cpuPerEvent(events), cpuPerEvent(before), 1000);
  }
  return rows;
}

export function renderLoad(load, command) {
  const lines = [];
  const before = load.before ? `\`${load.before.rev}\` (${load.before.commit.slice(0, 10)})` : 'not run';
  lines.push(`| Figure | This server | Server before (${load.before?.rev ?? '—'}) | This ÷ before | Command |`);
  lines.push('|---|---:|---:|---:|---|');
  for (const row of loadRows(load, command)) lines.push(`| ${row.figure} | ${row.this} | ${row.before} | ${row.ratio} | ${row.command} |`);
  lines.push('');
  const twice = [...load.cycles, ...load.events, ...load.paced].map((r) => r.claimedTwice + (r.claimedTwiceInDatabase ?? 0));
  lines.push(
    `Server before: ${before}. Load average ${load.loadavgAtStart.map((x) => x.toFixed(2)).join(' / ')} at the section's start, ` +
      `${load.loadavgAtEnd.map((x) => x.toFixed(2)).join(' / ')} at its end. Jobs claimed twice, over every run: ${twice.reduce((a, b) => a + b, 0)}.`,
  );
  for (const note of load.notes) lines.push(`\n${note}`);
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ the server's profile

/**
 * One server of this build under `node --cpu-prof`, in the job cycles of the table (64 runners), or with
 * `idlePolls` long-polls waiting and nothing queued; writes bench/results/server-<db>[-idle].cpuprofile and
 * profile-server-<db>[-idle].md: where the server's time goes, beside the CPU of the server, PostgreSQL and the load
 * generator. Resolves to the markdown.
 */
export async function profileServer(db, { idlePolls, cfg = LOAD_CONFIG.full } = {}) {
  const dir = mkdtempSync(join(WORK, 'cpu-prof-'));
  const pgInfo = db === 'postgres' ? await privatePostgres() : undefined;
  if (pgInfo?.skip) throw new Error(pgInfo.skip);
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const load = loadavg();
  const machine = machineProfiler(pgInfo);
  const settings = { db, pg: pgInfo, nodeArgs, onWindow: machine.onWindow };
  const run = idlePolls
    ? await runIdle(RUNNER_BIN, { ...settings, polls: idlePolls, windowMs: cfg.idleWindowMs })
    : await runCycles(
        RUNNER_BIN,
        { ...settings, servers: 1, runners: cfg.runners, warmupMs: cfg.warmupMs, windowMs: cfg.windowMs },
        { batches: 1, batchSize: CYCLE_BATCH },
      );
  const cores = await machine.cores();
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no .cpuprofile (did it stop cleanly?)');
  mkdirSync(RESULTS, { recursive: true });
  const tag = `server-${db}${idlePolls ? '-idle' : ''}`;
  const kept = join(RESULTS, `${tag}.cpuprofile`);
  renameSync(join(dir, file), kept);
  const report = analyseProfile(JSON.parse(readFileSync(kept, 'utf8')));
  const fmt = (value, digits = 2) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const dbName = db === 'pglite' ? 'PGlite' : 'PostgreSQL';
  const command = `\`node bench/load.mjs --profile=${db}${idlePolls ? ` --idle=${idlePolls}` : ''}\`, load average ${load.map((x) => x.toFixed(2)).join(' / ')} at its start: `;
  const c = run.cpuMsPerCycle;
  const measured = idlePolls
    ? `${fmt(run.pollsAnswered / run.seconds, 0)} polls answered per second over ${fmt(run.seconds, 1)} s; server CPU ${run.serverCpuPct} % of a core, ` +
      `PostgreSQL ${run.postgresCpuPct} %, load generator ${run.swarmCpuPct} % (${fmt((run.serverCpuPct * 10 * run.seconds) / run.pollsAnswered, 3)} ms of server CPU per answered poll). `
    : `${fmt(run.cyclesPerSec, 0)} job cycles/s (poll → claim → one batch of ${CYCLE_BATCH} events → complete) over ${fmt(run.seconds, 1)} s. ` +
      `CPU per cycle: server ${fmt(c.server)} ms, PostgreSQL ${fmt(c.postgres)} ms, load generator ${fmt(c.loadGenerator)} ms ` +
      `(${fmt(1000 / (c.server + c.postgres + c.loadGenerator), 0)} cycles per second of one core). `;
  const intro = [
    `### CPU profile of the server ${idlePolls ? `with ${fmt(idlePolls, 0)} idle long-polls` : `under job cycles`} (${dbName}${idlePolls ? '' : `, ${cfg.runners} runners`})`,
    '',
    command +
      measured +
      `The profile is of the whole server process (start-up and shutdown included); ${(report.total / 1000).toFixed(0)} ms on CPU, ${(report.idle / 1000).toFixed(0)} ms idle. ` +
      'Shares are of the non-idle time.',
    '',
  ].join('\n');
  const md = `${intro}${renderCores(cores)}${renderProfile(report, { ownCode: "the server's" })}`;
  writeFileSync(join(RESULTS, `profile-${tag}.md`), md);
  return md;
}

/**
 * The whole machine's time over the measured window, by process and by user or kernel code: `perf record -a -e
 * cpu-clock` (a software clock, so it works where hardware counters do not), when perf is there. Every core's time
 * is in it, idle included, so it shows what else the machine was doing too.
 */
function machineProfiler(pg) {
  const file = join(WORK, 'perf.data');
  let perf;
  let exited;
  let pids;
  const available = (() => {
    try {
      execFileSync('perf', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  return {
    onWindow: {
      start(processes) {
        if (!available) return;
        pids = { ...processes, postgres: pg ? postgresPids(pg) : undefined };
        perf = spawn('perf', ['record', '-a', '-q', '-e', 'cpu-clock', '-o', file], { stdio: 'ignore' });
        exited = new Promise((resolve) => perf.on('exit', resolve));
      },
      end() {
        perf?.kill('SIGINT');
      },
    },
    /** Cores used over the window by each group (server, PostgreSQL, load generator, everything else, idle), user and kernel; undefined without perf. */
    async cores() {
      if (!perf) return undefined;
      await exited;
      const groupOf = (pid) => {
        if (pid === 0) return 'idle';
        if (pids.servers.includes(pid)) return 'server';
        if (pid === pids.swarm) return 'load generator';
        if (pids.postgres && (pid === pids.postgres.postmaster || pids.postgres.children.includes(pid))) return 'PostgreSQL';
        return 'everything else on the machine';
      };
      const out = execFileSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', 'pid,dso', '-g', 'none'], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const groups = {};
      for (const line of out.split('\n')) {
        const m = /^\s*([\d.]+)%\s+(\d+):\S*\s+(.*?)\s*$/.exec(line);
        if (!m) continue;
        const entry = (groups[groupOf(Number(m[2]))] ??= { user: 0, kernel: 0 });
        entry[m[3] === '[kernel.kallsyms]' ? 'kernel' : 'user'] += (Number(m[1]) * cpus().length) / 100;
      }
      return groups;
    },
  };
}

/** A markdown table of `machineProfiler().cores()`: where the machine's time went, in cores. */
function renderCores(groups) {
  if (!groups) return '';
  const lines = [
    `The machine over the window (\`perf record -a -e cpu-clock\`, ${cpus().length} cores): where its time went, in cores.`,
    '',
    '| Processes | User | Kernel |',
    '|---|---:|---:|',
  ];
  for (const [group, { user, kernel }] of Object.entries(groups).sort((a, b) => b[1].user + b[1].kernel - a[1].user - a[1].kernel)) {
    lines.push(`| ${group} | ${user.toFixed(2)} | ${kernel.toFixed(2)} |`);
  }
  return `${lines.join('\n')}\n\n`;
}

// ------------------------------------------------------------------ alone

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const serverBefore = argv.find((arg) => arg.startsWith('--server-before='))?.slice('--server-before='.length);
  const profile = argv.find((arg) => arg.startsWith('--profile'))?.split('=')[1];
  const started = now();
  const progress = (text) => process.stderr.write(`[load ${((now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
  try {
    if (profile !== undefined) {
      const idlePolls = Number(argv.find((arg) => arg.startsWith('--idle='))?.slice('--idle='.length) ?? 0);
      process.stdout.write(await profileServer(profile || 'postgres', { idlePolls }));
    } else {
      const load = await runLoad(quick ? LOAD_CONFIG.quick : LOAD_CONFIG.full, { progress, serverBefore });
      const command = `\`node bench/load.mjs${argv.length ? ` ${argv.join(' ')}` : ''}\``;
      const md = `### The control plane at scale (${quick ? 'quick' : 'full'}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)\n\n${renderLoad(load, command)}`;
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, 'load.json'), `${JSON.stringify(load, null, 2)}\n`);
      writeFileSync(join(RESULTS, 'load.md'), md);
      process.stdout.write(md);
    }
  } finally {
    await cleanupAll();
  }
}
