/**
 * Shared machinery of the benchmarks: fresh control planes (PGlite in memory, or a fresh PostgreSQL database),
 * runner processes (the built CLI, or the minimal baseline) in private state directories, the flood agent,
 * /proc readings, an event follower, and cleanup that kills every child even when a measurement fails.
 *
 * Plain Node ESM over the built `dist/`: run `npm run build` first (`npm run bench` does).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RUNNER_BIN = join(ROOT, 'dist/bin/founderos-runner.js');
export const MINIMAL_BIN = join(ROOT, 'bench/baselines/minimal-runner.mjs');
export const FLOOD = join(ROOT, 'bench/agents/flood.mjs');
export const PG_SCRIPT = join(ROOT, 'scripts/postgres-test-cluster.sh');
export const RESULTS = join(ROOT, 'bench/results');
/** Every line the flood agent prints between its `init` and its `result` has exactly this many bytes, newline included. */
export const LINE_BYTES = 300;
export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** The two implementations of the original sections (claim, idle, scale): the runner and baseline B. */
export const IMPLS = /** @type {const} */ (['runner', 'minimal']);
/**
 * Every implementation the bench knows: `runner` (this checkout's build), `before` (a build of another git revision,
 * once `prepareBefore` succeeded), `minimal` (baseline B: bench/baselines/minimal-runner.mjs, batches of up to 32)
 * and `minimal256` (baseline B256: the same with `--max-batch=256`).
 */
export const IMPL_LABELS = {
  runner: 'Runner',
  before: 'Runner (before)',
  minimal: 'Baseline B',
  minimal256: 'Baseline B256',
};

if (!existsSync(join(ROOT, 'dist/control-plane/index.js')) || !existsSync(RUNNER_BIN)) {
  process.stderr.write('bench: dist/ is missing; run `npm run build` first (or `npm run bench`, which builds)\n');
  process.exit(2);
}
const { startControlPlane } = await import(join(ROOT, 'dist/control-plane/index.js'));

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes of this machine. */
export const now = () => performance.timeOrigin + performance.now();

// ------------------------------------------------------------------ scratch space and cleanup

/** One private directory for the whole run: state dirs of runners, PostgreSQL's state file. */
export const WORK = mkdtempSync(join(tmpdir(), 'founderos-bench-'));
const liveChildren = new Set();
const cleanups = [];

/** Registers an async cleanup, run (last first) by `cleanupAll`. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

function killChildren() {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

let cleaned = false;
export async function cleanupAll() {
  if (cleaned) return;
  cleaned = true;
  killChildren();
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (error) {
      process.stderr.write(`bench: cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  rmSync(WORK, { recursive: true, force: true });
}

process.on('exit', () => {
  killChildren();
  try {
    rmSync(WORK, { recursive: true, force: true });
  } catch {
    // best effort
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}: cleaning up\n`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

// ------------------------------------------------------------------ processes

/** Spawns a child that is killed on any exit of the bench; keeps the last 4 KB of its stderr for error messages. */
export function launch(command, args, { env = process.env, cwd = WORK, stdio = ['ignore', 'ignore', 'pipe'] } = {}) {
  const child = spawn(command, args, { env, cwd, stdio });
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (text) => {
    tail = (tail + text).slice(-4000);
  });
  liveChildren.add(child);
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    }),
  );
  child.on('error', () => liveChildren.delete(child));
  return { child, pid: child.pid, exited, stderr: () => tail };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stop(proc, graceMs = 5000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const outcome = await Promise.race([proc.exited, sleep(graceMs).then(() => 'timeout')]);
  if (outcome === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/** The environment for children: this one without any FOUNDEROS_ variable, with HOME and XDG dirs private to `home`. */
export function childEnv(home, extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOUNDEROS_')));
  return {
    ...env,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    ...extra,
  };
}

// ------------------------------------------------------------------ the runner of another revision

let before;

/**
 * Builds "today's runner" for a side-by-side comparison: the tree of git revision `rev` (`git archive`, so the
 * repository's worktrees and index are left alone) in a directory of the system's temp dir named after its commit,
 * with this checkout's node_modules symlinked in, compiled with `tsc -p tsconfig.build.json` (the runner only, no
 * UI). A build of the same commit is reused across runs. Resolves to `{ rev, commit, bin, dir, reused, seconds }`,
 * or `{ rev, skip: reason }` when git, the revision or the build is not available; `startImpl('before', …)` runs it.
 */
export async function prepareBefore(rev) {
  before = await buildRevision(rev);
  return before;
}

/** The tree of git revision `rev` built beside this one (see prepareBefore): `{ rev, commit, bin, dir, reused, seconds }` or `{ rev, skip }`. */
export async function buildRevision(rev) {
  const started = now();
  const git = (...args) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  let commit;
  try {
    commit = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  } catch (error) {
    const why = error?.code === 'ENOENT' ? 'git is not installed' : `git does not know revision ${rev} here`;
    return { rev, skip: why };
  }
  const dir = join(tmpdir(), `founderos-runner-before-${commit.slice(0, 12)}`);
  const bin = join(dir, 'dist/bin/founderos-runner.js');
  const marker = join(dir, '.bench-built');
  if (existsSync(marker) && existsSync(bin)) {
    // Reused, with this checkout's node_modules: the checkout that built it may be gone, and its link with it.
    rmSync(join(dir, 'node_modules'), { force: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return { rev, commit, dir, bin, reused: true, seconds: (now() - started) / 1000 };
  }
  const staging = mkdtempSync(join(tmpdir(), `founderos-runner-before-${commit.slice(0, 12)}-`));
  try {
    const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', commit], {
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    execFileSync('tar', ['-x', '-C', staging], { input: tar, stdio: ['pipe', 'ignore', 'pipe'] });
    symlinkSync(join(ROOT, 'node_modules'), join(staging, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: staging,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 26,
    });
    writeFileSync(join(staging, '.bench-built'), `${commit}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const detail = String(error?.stdout || error?.stderr || error?.message || error)
      .trim()
      .split('\n')
      .slice(0, 3)
      .join(' ');
    return { rev, commit, skip: `building ${rev} (${commit.slice(0, 10)}) failed: ${detail.slice(0, 300)}` };
  }
  return { rev, commit, dir, bin, reused: false, seconds: (now() - started) / 1000 };
}

/**
 * A runner process polling `url` with `token`, running the flood agent: `runner` is the built CLI with its
 * production defaults, `before` the build of `prepareBefore` (production defaults too), `minimal` and
 * `minimal256` the hand-written baselines B and B256. Each gets its own HOME (spool, config) and cwd; `env` adds to its
 * environment (the runner's FOUNDEROS_RUNNER_SANDBOX, say).
 */
export function startImpl(impl, url, token, { nodeArgs = [], env: extraEnv = {} } = {}) {
  const home = mkdtempSync(join(WORK, `${impl}-`));
  const env = childEnv(home, { FOUNDEROS_RUNNER_TOKEN: token, FOUNDEROS_CLAUDE_BIN: FLOOD, ...extraEnv });
  const implArgs = {
    runner: () => [RUNNER_BIN, 'start', `--server-url=${url}`],
    before: () => {
      if (!before?.bin) throw new Error(`the "before" runner is not built${before?.skip ? `: ${before.skip}` : ''}`);
      return [before.bin, 'start', `--server-url=${url}`];
    },
    minimal: () => [MINIMAL_BIN, `--server-url=${url}`],
    minimal256: () => [MINIMAL_BIN, `--server-url=${url}`, '--max-batch=256'],
  }[impl];
  if (!implArgs) throw new Error(`unknown implementation ${JSON.stringify(impl)}`);
  const proc = launch(process.execPath, [...nodeArgs, ...implArgs()], { env, cwd: home });
  return { ...proc, impl, home, dispose: () => rmSync(home, { recursive: true, force: true }) };
}

// ------------------------------------------------------------------ /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * user + system CPU time of a live process, in ms (resolution 1000 / CLK_TCK); with `children`, also that of its
 * children it has waited for.
 */
export function cpuMs(pid, { children = false } = {}) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / CLK_TCK;
}

/** A memory figure of /proc/<pid>/status (VmHWM: peak RSS, VmRSS: current), in MB. */
export function memMb(pid, key = 'VmHWM') {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) / 1024 : NaN;
}

// ------------------------------------------------------------------ control planes and databases

let postgres;

/**
 * PostgreSQL for the variants that need it: FOUNDEROS_TEST_DATABASE_URL when set, else the run's private cluster
 * (see `privatePostgres`). Resolves to `{ url, source }` or `{ skip: reason }`.
 */
export async function ensurePostgres() {
  if (postgres) return postgres;
  if (process.env.FOUNDEROS_TEST_DATABASE_URL) {
    postgres = { url: process.env.FOUNDEROS_TEST_DATABASE_URL, source: 'FOUNDEROS_TEST_DATABASE_URL' };
    return postgres;
  }
  postgres = await privatePostgres();
  return postgres;
}

let cluster;

/**
 * A throwaway cluster of this run alone, from scripts/postgres-test-cluster.sh (its own state file and port range,
 * so a cluster of the test suite is left alone; fsync and synchronous commits off, as for the tests), stopped at
 * cleanup. Its own, so that its CPU time can be read (`postgresCpuMs`) apart from anyone else's queries.
 * Resolves to `{ url, source, dir }` or `{ skip: reason }`.
 */
export async function privatePostgres() {
  if (cluster) return cluster;
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  if (!versions.some((version) => existsSync(`/usr/lib/postgresql/${version}/bin/initdb`))) {
    cluster = {
      skip: 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql), and FOUNDEROS_TEST_DATABASE_URL is not set',
    };
    return cluster;
  }
  const env = { ...process.env, FOUNDEROS_PG_STATE: join(WORK, 'pg-cluster.state'), FOUNDEROS_PG_PORT: '56432' };
  try {
    const out = execFileSync('bash', [PG_SCRIPT, 'start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(async () => {
      execFileSync('bash', [PG_SCRIPT, 'stop'], { env, stdio: 'ignore' });
    });
    const [started, last] = [out.trim().split('\n')[0], out.trim().split('\n').pop()];
    cluster = {
      url: last.replace(/^FOUNDEROS_TEST_DATABASE_URL=/, ''),
      source: `throwaway cluster (${started.replace(/ in \/.*/, '')})`,
      dir: / in (\S+) on /.exec(started)?.[1],
    };
  } catch (error) {
    cluster = {
      skip: `scripts/postgres-test-cluster.sh start failed: ${String(error.stderr ?? error.message)
        .trim()
        .slice(0, 300)}`,
    };
  }
  return cluster;
}

/** The processes of a private cluster (`privatePostgres`): its postmaster and its children (backends, workers). */
export function postgresPids(pg) {
  const postmaster = Number(readFileSync(join(pg.dir, 'data/postmaster.pid'), 'utf8').split('\n')[0]);
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return { postmaster, children };
}

/** user + system CPU time of a private cluster (`privatePostgres`): its postmaster, its live backends and the ended ones. */
export function postgresCpuMs(pg) {
  const { postmaster, children } = postgresPids(pg);
  let total = cpuMs(postmaster, { children: true });
  for (const pid of children) {
    try {
      total += cpuMs(pid);
    } catch {
      // gone meanwhile: its time is in the postmaster's children time now
    }
  }
  return total;
}

let dbSeq = 0;

/** A fresh database on the PostgreSQL server of `baseUrl` (dropped by the returned `drop`); the base database if CREATE DATABASE is refused. */
async function freshDatabase(baseUrl) {
  const { default: pg } = await import('pg');
  const name = `founderos_bench_${process.pid}_${++dbSeq}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } catch {
    return { url: baseUrl, drop: async () => {}, shared: true };
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    shared: false,
    drop: async () => {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

let companySeq = 0;

/**
 * A fresh reference control plane in this process, on a free loopback port: PGlite in memory, or PostgreSQL in a
 * fresh database. Long-polls are held 30 s, as in production. Jobs and tokens belong to a company of its own.
 */
export async function openPlane(db = 'pglite') {
  let database;
  if (db === 'postgres') {
    const pgInfo = await ensurePostgres();
    if (pgInfo.skip) throw new Error(pgInfo.skip);
    database = await freshDatabase(pgInfo.url);
  }
  const plane = await startControlPlane({ longPollMs: 30_000, ...(database && { databaseUrl: database.url }) });
  const company = `bench-${process.pid}-${++companySeq}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await plane.close();
    await database?.drop();
  };
  onCleanup(close);
  return {
    db,
    plane,
    admin: plane.admin,
    url: plane.url,
    company,
    close,
    async token(name = 'bench') {
      return (await plane.admin.createToken({ companyId: company, name })).token;
    },
    enqueue(spec) {
      return plane.admin.enqueueJob({ companyId: company, agentName: 'Flood', prompt: JSON.stringify(spec) });
    },
    /** Resolves once `count` of the company's tokens have made a request (so that many runners are long-polling). */
    async waitPolling(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const tokens = await plane.admin.listTokens({ companyId: company });
        if (tokens.filter((token) => token.lastUsedAt !== null).length >= count) break;
        if (Date.now() > deadline)
          throw new Error(`only ${tokens.filter((t) => t.lastUsedAt).length} of ${count} runners polled within ${timeoutMs} ms`);
        await sleep(25);
      }
      // The request is in; let it reach its wait.
      await sleep(150);
    },
    /** Polls the job list (cheap: no event count) until `count` jobs are terminal; resolves to them. */
    async waitJobs(count, timeoutMs, describe = () => '') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const jobs = await plane.admin.listJobs({ companyId: company, limit: 1000 });
        const done = jobs.filter((job) => TERMINAL.has(job.status));
        if (done.length >= count) return done;
        if (Date.now() > deadline) throw new Error(`${done.length} of ${count} jobs finished within ${timeoutMs} ms${describe()}`);
        await sleep(50);
      }
    },
  };
}

/**
 * Follows a job's events as an admin would (`listEvents` with `waitMs`) and stamps each page's receipt. For every
 * flood line (`type: assistant`, which carries `t`, its write time): `stored` = receipt − write, the time until
 * the server had stored it and a follower saw it; `stamped` = the event's `ts` − write, the time until the
 * runner read it (ms resolution).
 */
export async function followEvents(admin, jobId, timeoutMs) {
  const stored = [];
  const stamped = [];
  let after;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const page = await admin.listEvents(jobId, { after, waitMs: 5000, limit: 5000 });
    const receivedAt = now();
    for (const event of page.events) {
      const payload = event.payload;
      if (payload && payload.type === 'assistant' && typeof payload.t === 'number') {
        stored.push(receivedAt - payload.t);
        stamped.push(Date.parse(event.ts) - payload.t);
      }
    }
    if (page.events.length > 0) after = page.nextCursor;
    else if (TERMINAL.has(page.jobStatus)) break;
  }
  return { stored, stamped };
}

// ------------------------------------------------------------------ statistics

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values) => percentile(values, 50);

export function summary(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
  };
}

// ------------------------------------------------------------------ measurements shared by run.mjs and profile.mjs

/**
 * One flood job through one runner process on a fresh control plane: enqueue, wait for the completion (sent only
 * after every batch was accepted), and read the agent's start time from its first event.
 * Throughput is N lines over (completion − agent process start), so claim latency is not in it.
 */
export async function floodJob(impl, spec, { db = 'pglite', follow = false, nodeArgs = [], timeoutMs } = {}) {
  const lines = spec.lines;
  const plane = await openPlane(db);
  const proc = startImpl(impl, plane.url, await plane.token(), { nodeArgs });
  try {
    await plane.waitPolling(1);
    const cpuBefore = cpuMs(proc.pid);
    const serverBefore = process.cpuUsage();
    const enqueuedAt = now();
    const job = await plane.enqueue(spec);
    const limit = timeoutMs ?? 60_000 + lines * 2;
    const following = follow ? followEvents(plane.admin, job.jobId, limit) : undefined;
    await plane.waitJobs(1, limit, () => `; ${impl} stderr:\n${proc.stderr()}`);
    const cpu = cpuMs(proc.pid) - cpuBefore;
    const server = process.cpuUsage(serverBefore);
    const peakRssMb = memMb(proc.pid, 'VmHWM');
    const latency = following && (await following);
    const detail = await plane.admin.getJob(job.jobId);
    const first = (await plane.admin.listEvents(job.jobId, { limit: 1 })).events[0];
    if (detail.status !== 'completed' || detail.eventCount !== lines + 2) {
      throw new Error(
        `${impl}: job ${detail.status} with ${detail.eventCount} of ${lines + 2} events (${detail.errorMessage ?? ''})\n${proc.stderr()}`,
      );
    }
    const agentStartedAt = first.payload.startedAt;
    const completedAt = Date.parse(detail.completedAt);
    const seconds = (completedAt - agentStartedAt) / 1000;
    return {
      impl,
      db,
      lines,
      seconds,
      linesPerSec: lines / seconds,
      mbPerSec: (lines * LINE_BYTES) / seconds / 1e6,
      enqueueToCompleteSec: (completedAt - enqueuedAt) / 1000,
      cpuMs: cpu,
      serverCpuMs: (server.user + server.system) / 1000,
      peakRssMb,
      ...(latency && { latency: { stored: summary(latency.stored), stamped: summary(latency.stamped) } }),
      pid: proc.pid,
    };
  } finally {
    await stop(proc);
    proc.dispose();
    await plane.close();
  }
}

/**
 * A null control plane: the runner protocol over node:http with nothing behind it. Batches are counted (not
 * parsed, not stored) and answered 204 at once, so a flood through it measures the runner's own limit rather
 * than the reference server's. One job at a time; `run(spec)` queues it and resolves at its completion.
 */
export async function startNullServer() {
  const { createServer } = await import('node:http');
  const { randomUUID } = await import('node:crypto');
  let queued;
  let current;
  let waitingPolls = 0;
  let wakePoll = () => {};
  const read = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  const server = createServer(async (req, res) => {
    const body = await read(req);
    const answer = (status, json) => {
      if (json === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    };
    const url = req.url ?? '';
    if (req.method === 'GET' && url.endsWith('/api/runner/jobs/next')) {
      if (!queued) {
        waitingPolls += 1;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          wakePoll = () => {
            clearTimeout(timer);
            resolve();
          };
          req.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        waitingPolls -= 1;
      }
      if (!queued || res.destroyed) return answer(204);
      return answer(200, { jobId: queued.jobId, agentId: queued.jobId, agentName: 'Flood', createdAt: new Date().toISOString() });
    }
    const match = url.match(/\/api\/runner\/jobs\/([^/]+)\/(claim|events|complete|heartbeat)$/);
    if (req.method !== 'POST' || !match) return answer(404, { error: 'not_found' });
    const [, jobId, action] = match;
    if (action === 'claim') {
      if (!queued || queued.jobId !== jobId) return answer(409, { error: 'job_not_claimable' });
      current = queued;
      queued = undefined;
      current.claimedAt = now();
      return answer(200, {
        jobId,
        agentId: jobId,
        agentName: 'Flood',
        prompt: JSON.stringify(current.spec),
        sessionId: null,
        promptHash: 'x',
        runtimeConfig: {},
        addDirs: [],
      });
    }
    if (!current || current.jobId !== jobId) return answer(404, { error: 'job_not_found' });
    if (action === 'events') {
      if (current.events === 0) current.first = JSON.parse(body).events[0];
      current.events += body.split('"eventId":').length - 1;
      current.batches += 1;
      return answer(204);
    }
    if (action === 'complete') {
      current.completion = JSON.parse(body);
      current.completedAt = now();
      current.done(current);
      return answer(204);
    }
    return answer(204);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    wakePoll();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
  };
  onCleanup(close);
  return {
    url,
    close,
    token: `fos_${'n'.repeat(32)}`,
    async waitPolling(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (waitingPolls === 0) {
        if (Date.now() > deadline) throw new Error(`no runner polled the null server within ${timeoutMs} ms`);
        await sleep(20);
      }
      await sleep(50);
    },
    run(spec) {
      return new Promise((done) => {
        queued = { jobId: randomUUID(), spec, events: 0, batches: 0, done };
        wakePoll();
      });
    },
  };
}

/** A flood job through one runner process against a fresh null server (see startNullServer). */
export async function floodJobNull(impl, spec, { nodeArgs = [] } = {}) {
  const server = await startNullServer();
  const proc = startImpl(impl, server.url, server.token, { nodeArgs });
  try {
    await server.waitPolling();
    const cpuBefore = cpuMs(proc.pid);
    const job = await server.run(spec);
    const cpu = cpuMs(proc.pid) - cpuBefore;
    const peakRssMb = memMb(proc.pid, 'VmHWM');
    if (job.events !== spec.lines + 2 || job.completion.status !== 'completed') {
      throw new Error(`${impl} (null server): ${job.completion.status} with ${job.events} of ${spec.lines + 2} events\n${proc.stderr()}`);
    }
    // The agent's start, on the wall clock; the completion's receipt, on this process's clock: the same clock.
    const seconds = (job.completedAt - job.first.payload.startedAt) / 1000;
    return {
      impl,
      db: 'null',
      lines: spec.lines,
      seconds,
      linesPerSec: spec.lines / seconds,
      mbPerSec: (spec.lines * LINE_BYTES) / seconds / 1e6,
      batches: job.batches,
      cpuMs: cpu,
      peakRssMb,
    };
  } finally {
    await stop(proc);
    proc.dispose();
    await server.close();
  }
}

/** Baseline A: the flood agent alone, stdout to /dev/null; from spawn to exit. */
export async function agentAlone(lines) {
  const { openSync, closeSync } = await import('node:fs');
  const devNull = openSync('/dev/null', 'w');
  try {
    const startedAt = now();
    const proc = launch(process.execPath, [FLOOD], { stdio: ['pipe', devNull, 'pipe'] });
    proc.child.stdin.end(JSON.stringify({ lines }));
    const { code } = await proc.exited;
    const seconds = (now() - startedAt) / 1000;
    if (code !== 0) throw new Error(`flood agent exited ${code}: ${proc.stderr()}`);
    return { impl: 'agent', lines, seconds, linesPerSec: lines / seconds, mbPerSec: (lines * LINE_BYTES) / seconds / 1e6 };
  } finally {
    closeSync(devNull);
  }
}

// ------------------------------------------------------------------ outages

/**
 * A TCP proxy in front of `targetUrl` that can take the server off the network: `down()` closes its listening
 * socket (new connections are refused: ECONNREFUSED, as from a server that is not running) and destroys every
 * open connection; `up()` listens again on the same port. The runner talks to `url`; the bench talks to the server
 * directly.
 */
export async function startOutageProxy(targetUrl) {
  const { createServer, connect } = await import('node:net');
  const target = new URL(targetUrl);
  const sockets = new Set();
  let server;
  let port = 0;
  const track = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const listen = () =>
    new Promise((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        track(client);
        track(upstream);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = server.address().port;
        resolve();
      });
    });
  await listen();
  let closed = false;
  const down = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    down();
  };
  onCleanup(close);
  return { url: `http://127.0.0.1:${port}`, down, up: listen, close };
}

let gateSeq = 0;

/**
 * Catch-up after an outage, on a fresh reference server (PGlite) behind `startOutageProxy`: a job of `lines` flood
 * lines starts; once its first line is stored, the server goes down (connections refused and reset), the agent is
 * let go (its gate file), and `outageMs` later the server comes back. Measured from that return: `retryWaitSec` until
 * the first of the new lines is stored (how long the runner's backoff keeps it waiting), `seconds` until the job's
 * completion (sent only after the last line was stored), and `drainSec`, the difference.
 */
export async function catchUpJob(impl, { lines, outageMs }) {
  const plane = await openPlane('pglite');
  const proxy = await startOutageProxy(plane.url);
  // The agent waits on a gate file the bench writes, and leaves a file beside it when done: in the runner's sandbox it
  // could see neither (its /tmp is its own, and it writes only its workspace). This measures delivery, not containment.
  const proc = startImpl(impl, proxy.url, await plane.token(), { env: { FOUNDEROS_RUNNER_SANDBOX: 'off' } });
  const gate = join(WORK, `gate-${impl}-${++gateSeq}`);
  const describe = () => `; ${impl} stderr:\n${proc.stderr()}`;
  const stored = async (jobId) => (await plane.admin.getJob(jobId)).eventCount;
  const waitStored = async (jobId, above, timeoutMs, what) => {
    const deadline = now() + timeoutMs;
    for (;;) {
      if ((await stored(jobId)) > above) return now();
      if (now() > deadline) throw new Error(`${impl}: ${what} within ${timeoutMs} ms${describe()}`);
      await sleep(20);
    }
  };
  try {
    await plane.waitPolling(1);
    const cpuBefore = cpuMs(proc.pid);
    const job = await plane.enqueue({ lines, gate });
    await waitStored(job.jobId, 0, 30_000, "the agent's first line was not stored");
    const downAt = now();
    proxy.down();
    writeFileSync(gate, '');
    await sleep(outageMs);
    const doneDuringOutage = existsSync(`${gate}.done`);
    const storedAtReturn = await stored(job.jobId);
    await proxy.up();
    const upAt = now();
    const limit = 60_000 + lines * 2;
    const firstAt = await waitStored(job.jobId, storedAtReturn, limit, 'no line was stored after the server came back');
    await plane.waitJobs(1, limit, describe);
    const cpu = cpuMs(proc.pid) - cpuBefore;
    const peakRssMb = memMb(proc.pid, 'VmHWM');
    const detail = await plane.admin.getJob(job.jobId);
    if (detail.status !== 'completed' || detail.eventCount !== lines + 2) {
      throw new Error(
        `${impl}: job ${detail.status} with ${detail.eventCount} of ${lines + 2} events (${detail.errorMessage ?? ''})${describe()}`,
      );
    }
    const completedAt = Date.parse(detail.completedAt);
    const agentDoneAt = existsSync(`${gate}.done`) ? Number(readFileSync(`${gate}.done`, 'utf8')) : NaN;
    return {
      impl,
      lines,
      outageMs,
      seconds: (completedAt - upAt) / 1000,
      retryWaitSec: (firstAt - upAt) / 1000,
      drainSec: (completedAt - firstAt) / 1000,
      storedAtReturn,
      agentDoneDuringOutage: doneDuringOutage,
      agentDoneAfterDownSec: (agentDoneAt - downAt) / 1000,
      cpuMs: cpu,
      peakRssMb,
    };
  } finally {
    await stop(proc);
    proc.dispose();
    await proxy.close();
    await plane.close();
  }
}
