#!/usr/bin/env node
/**
 * Simulated runners speaking the runner protocol directly to one or more reference control planes: no runner
 * process, no agent. bench/load.mjs starts one swarm per measurement, as a process of its own (so that its CPU is
 * counted apart from the servers'), with one JSON argument:
 *
 *   { mode: 'cycle' | 'idle', servers: [url…], tokens: [token…], warmupMs, windowMs, … }
 *
 * - `cycle`: one runner per token, each in a loop: GET /jobs/next, POST claim, `batches` POSTs of `batchSize`
 *   events, POST complete. With `enqueue`, this process also queues the jobs through the admin API: `backlog`
 *   keeps that many queued ahead of the runners (flat out), `ratePerSec` queues at a fixed pace (the runners wait
 *   between jobs, so enqueue → claim is the wake-up path). Each job's prompt carries its enqueue time.
 * - `idle`: `polls` long-polls spread over the tokens (`pollsPerToken` each), opened at `rampPerSec`, each polling
 *   again as soon as it is answered, asking to be held `waitSec` (Part 2, `Prefer: wait`) when given. Nothing is queued.
 *
 * It prints JSON lines: {"event":"window-start"} and {"event":"window-end"} around the measured window (after the
 * warm-up), then {"event":"result", …}: what the runners saw in the window (cycles, events stored, enqueue → claim
 * latencies, answers by status, jobs claimed twice).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const spec = JSON.parse(process.argv[2] ?? '{}');
const now = () => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 1 << 20 });
const stopping = new AbortController();

const stats = {
  cycles: 0,
  events: 0,
  claimLatencyMs: [],
  /** Where enqueue → claim goes: the admin API's answer, then the poll's answer (the wake-up), both from the enqueue. */
  enqueueAnsweredMs: [],
  pollAnsweredMs: [],
  statuses: {},
  claimedTwice: 0,
  enqueued: 0,
  pollsOpened: 0,
  pollsAnswered: 0,
};
let inWindow = false;
const claimed = new Set();

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const count = (what, status) => {
  const key = `${what} ${status}`;
  stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
};

/** One request on a kept-alive connection; resolves to { status, headers, text } (status 0 when it failed). */
function call(base, method, path, { token, body, prefer } = {}) {
  return new Promise((resolve) => {
    const url = new URL(path, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { authorization: `Bearer ${token}` };
    if (prefer !== undefined) headers.prefer = prefer;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const req = request({ host: url.hostname, port: url.port, method, path: url.pathname, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, headers: {}, text: '' }));
    });
    req.on('error', () => resolve({ status: 0, headers: {}, text: '' }));
    req.end(payload);
  });
}

// ------------------------------------------------------------------ cycle mode

/** A stream-json line of about 300 bytes, as an agent prints them. */
const LINE = {
  type: 'assistant',
  message: { role: 'assistant', content: [{ type: 'text', text: 'x'.repeat(200) }] },
  session_id: '00000000-0000-4000-8000-000000000000',
};

function batchOf(size, firstSeq) {
  const ts = new Date().toISOString();
  return {
    events: Array.from({ length: size }, (_, i) => ({
      eventId: randomUUID(),
      seq: firstSeq + i,
      kind: 'claude_message',
      ts,
      payload: LINE,
    })),
  };
}

async function cycleRunner(server, token) {
  const runner = '/api/runner/jobs';
  while (!stopping.signal.aborted) {
    const next = await call(server, 'GET', `${runner}/next`, { token });
    if (stopping.signal.aborted) return;
    if (next.status !== 200) {
      if (next.status !== 204) count('next', next.status);
      if (next.status === 429) await sleep(Number(next.headers['retry-after'] ?? 1) * 1000);
      else if (next.status !== 204) await sleep(100);
      continue;
    }
    const { jobId } = JSON.parse(next.text);
    const offeredAt = now();
    const claim = await call(server, 'POST', `${runner}/${jobId}/claim`, { token });
    const claimedAt = now();
    if (claim.status !== 200) {
      count('claim', claim.status);
      continue;
    }
    if (claimed.has(jobId)) stats.claimedTwice++;
    claimed.add(jobId);
    if (inWindow) {
      const enqueuedAt = JSON.parse(JSON.parse(claim.text).prompt).t;
      stats.claimLatencyMs.push(claimedAt - enqueuedAt);
      stats.pollAnsweredMs.push(offeredAt - enqueuedAt);
    }
    pending.claimed++;
    enqueueMore();
    let stored = true;
    for (let b = 0; b < spec.batches && stored; b++) {
      const res = await call(server, 'POST', `${runner}/${jobId}/events`, { token, body: batchOf(spec.batchSize, b * spec.batchSize) });
      stored = res.status === 204;
      if (!stored) count('events', res.status);
      else if (inWindow) stats.events += spec.batchSize;
    }
    const done = await call(server, 'POST', `${runner}/${jobId}/complete`, { token, body: { status: 'completed', exitCode: 0 } });
    if (done.status !== 204) count('complete', done.status);
    else if (inWindow) stats.cycles++;
  }
}

// ------------------------------------------------------------------ the enqueuer

const pending = { claimed: 0, inflight: 0, next: 0 };

function enqueueOne() {
  const { enqueue } = spec;
  const server = spec.servers[pending.next++ % spec.servers.length];
  pending.inflight++;
  stats.enqueued++;
  const enqueuedAt = now();
  const body = { companyId: enqueue.companyId, agentName: 'Load', prompt: JSON.stringify({ t: enqueuedAt }) };
  void call(server, 'POST', '/api/admin/jobs', { token: enqueue.adminKey, body }).then((res) => {
    if (inWindow) stats.enqueueAnsweredMs.push(now() - enqueuedAt);
    pending.inflight--;
    if (res.status !== 201) {
      count('enqueue', res.status);
      stats.enqueued--;
    }
    enqueueMore();
  });
}

/** Flat out: keeps `backlog` jobs queued ahead of the runners, with at most `inflight` enqueues on the wire. */
function enqueueMore() {
  const { enqueue } = spec;
  if (!enqueue?.backlog || stopping.signal.aborted) return;
  while (stats.enqueued - pending.claimed < enqueue.backlog && pending.inflight < enqueue.inflight) enqueueOne();
}

/** At a fixed pace: one job every 1/ratePerSec s, whatever the runners do (an open loop). */
async function enqueueAtPace() {
  const started = now();
  for (let i = 0; !stopping.signal.aborted; i++) {
    const wait = started + (i * 1000) / spec.enqueue.ratePerSec - now();
    if (wait > 0) await sleep(wait);
    if (!stopping.signal.aborted) enqueueOne();
  }
}

// ------------------------------------------------------------------ idle mode

async function idlePoll(server, token) {
  stats.pollsOpened++;
  const prefer = spec.waitSec === undefined ? undefined : `wait=${spec.waitSec}`;
  while (!stopping.signal.aborted) {
    const res = await call(server, 'GET', '/api/runner/jobs/next', { token, prefer });
    if (stopping.signal.aborted) return;
    if (inWindow) stats.pollsAnswered++;
    if (res.status !== 204) {
      count('next', res.status);
      await sleep(res.status === 429 ? Number(res.headers['retry-after'] ?? 1) * 1000 : 1000);
    }
  }
}

async function openIdlePolls() {
  const started = now();
  for (let i = 0; i < spec.polls && !stopping.signal.aborted; i++) {
    const token = spec.tokens[Math.floor(i / spec.pollsPerToken) % spec.tokens.length];
    void idlePoll(spec.servers[i % spec.servers.length], token);
    const wait = started + ((i + 1) * 1000) / spec.rampPerSec - now();
    if (wait > 0) await sleep(wait);
  }
}

// ------------------------------------------------------------------ the run

if (spec.mode === 'cycle') {
  spec.tokens.forEach((token, i) => void cycleRunner(spec.servers[i % spec.servers.length], token));
  if (spec.enqueue?.ratePerSec) void enqueueAtPace();
  else enqueueMore();
} else if (spec.mode === 'idle') {
  await openIdlePolls();
  emit({ event: 'opened', polls: stats.pollsOpened });
} else {
  process.stderr.write(`swarm: unknown mode ${JSON.stringify(spec.mode)}\n`);
  process.exit(2);
}

await sleep(spec.warmupMs ?? 0);
inWindow = true;
const windowStart = now();
emit({ event: 'window-start' });
await sleep(spec.windowMs);
inWindow = false;
const windowSec = (now() - windowStart) / 1000;
emit({ event: 'window-end' });
stopping.abort();
agent.destroy();
emit({ event: 'result', windowSec, ...stats });
process.exit(0);
