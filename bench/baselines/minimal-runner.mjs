#!/usr/bin/env node
// Baseline B of the benchmarks: the least a runner must do, written by hand. No RxJS, no ky: plain `fetch`
// (undici, keep-alive by default). It speaks the same protocol as founderos-runner and sends the same requests:
// long-poll, claim, spawn the agent with the prompt on stdin, split stdout/stderr into lines, parse JSON lines,
// stamp each event (eventId, ts, seq), batch them like `bufferTime(50, null, 32)` (at most 32 events by default, see --max-batch below; windows of
// 50 ms restarted by a full batch), POST the batches one at a time in order, then complete (with the agent's
// `--version` line, asked once per process, as the runner does).
//
// One difference on purpose: when more than HIGH_WATER events wait to be sent, it stops reading the agent's
// pipe until they fall below LOW_WATER, so a fast agent is slowed down to the server's pace instead of
// filling the runner's memory.
//
// `--max-batch=N` (1–256, default 32; or FOUNDEROS_MINIMAL_MAX_BATCH) sets the most events per batch: baseline
// B256 of the benchmarks is this runner with `--max-batch=256` (windows of 50 ms or 256 events). The water marks
// stay counted in events (2,048 and 512), so B and B256 hold the same backlog at most.
//
//   FOUNDEROS_RUNNER_TOKEN=fos_… node bench/baselines/minimal-runner.mjs --server-url=http://127.0.0.1:8787 \
//     [--claude-bin=agent.mjs] [--no-backpressure] [--max-batch=256]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';

const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((arg) => arg.startsWith('--'))
    .map((arg) => {
      const [key, ...value] = arg.slice(2).split('=');
      return [key, value.length ? value.join('=') : 'true'];
    }),
);
const serverUrl = (flags['server-url'] ?? process.env.FOUNDEROS_RUNNER_URL ?? '').replace(/\/+$/, '');
const token = process.env.FOUNDEROS_RUNNER_TOKEN;
const agentBin = flags['claude-bin'] ?? process.env.FOUNDEROS_CLAUDE_BIN ?? 'claude';
const backpressure = flags['no-backpressure'] !== 'true';
const maxBatchFlag = flags['max-batch'] ?? process.env.FOUNDEROS_MINIMAL_MAX_BATCH ?? '32';
if (!serverUrl || !token || !/^\d+$/.test(maxBatchFlag) || Number(maxBatchFlag) < 1 || Number(maxBatchFlag) > 256) {
  process.stderr.write(
    'usage: FOUNDEROS_RUNNER_TOKEN=fos_… minimal-runner.mjs --server-url=URL [--claude-bin=PATH] [--max-batch=1..256] [--no-backpressure]\n',
  );
  process.exit(2);
}

const API = `${serverUrl}/api/runner`;
const HEADERS = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const WINDOW_MS = 50;
const MAX_BATCH = Number(maxBatchFlag);
const HIGH_WATER = 2048;
const LOW_WATER = 512;
const POLL_MIN_INTERVAL_MS = 1000;
const HEARTBEAT_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => process.stderr.write(`[minimal] ${message}\n`);

let stopping = false;
const stopPolling = new AbortController();
const onSignal = () => {
  if (stopping) process.exit(130);
  stopping = true;
  stopPolling.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** One request; network errors and 5xx are retried with full-jitter backoff, anything else is returned. */
async function request(method, path, body, signal) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${API}${path}`, { method, headers: HEADERS, body, signal });
      const text = await response.text();
      if (response.status >= 500) throw Object.assign(new Error(`${method} ${path}: ${response.status}`), { status: response.status });
      return { status: response.status, text };
    } catch (error) {
      if (signal?.aborted || attempt >= 10) throw error;
      await sleep(Math.floor(Math.random() * Math.min(30_000, 100 * 2 ** attempt)));
    }
  }
}

function kindOf(message) {
  const blocks = Array.isArray(message.message?.content) ? message.message.content : [];
  const has = (type) => blocks.some((block) => block && block.type === type);
  switch (message.type) {
    case 'result':
      return 'claude_result';
    case 'assistant':
      return has('tool_use') ? 'claude_tool_use' : 'claude_message';
    case 'user':
      return has('tool_result') ? 'claude_tool_result' : 'claude_message';
    default:
      return 'claude_message';
  }
}

const agentEnv = (jobId) => {
  const env = { ...process.env, FOUNDEROS_JOB_ID: jobId };
  delete env.FOUNDEROS_RUNNER_TOKEN;
  return env;
};
const commandLine = (args) => (/\.[cm]?js$/.test(agentBin) ? [process.execPath, [agentBin, ...args]] : [agentBin, args]);

/** The agent's `--version` line, asked once per process (like the runner), for the completion's `cliVersion`. */
let versionAnswer;
function cliVersion() {
  versionAnswer ??= new Promise((resolve) => {
    const [command, argv] = commandLine(['--version']);
    const child = spawn(command, argv, { env: agentEnv(''), stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (text += chunk));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? text.trim().split('\n')[0] || undefined : undefined));
  });
  return versionAnswer;
}

async function runJob(payload) {
  const jobId = payload.jobId;
  const startedAt = Date.now();
  const version = cliVersion();
  const [command, argv] = commandLine(['--print', '--output-format', 'stream-json', '--verbose']);
  const child = spawn(command, argv, { env: agentEnv(jobId), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin.on('error', () => {});
  child.stdin.end(payload.prompt);

  let seq = 0;
  let result;
  let sessionId = null;
  let window = [];
  const queue = [];
  let queued = 0;
  let paused = false;
  let sending = false;
  let failed = false;
  let drained = () => {};

  const cut = () => {
    clearTimeout(windowTimer);
    windowTimer = setTimeout(cut, WINDOW_MS);
    if (window.length === 0) return;
    queue.push(window);
    queued += window.length;
    window = [];
    if (backpressure && !paused && queued >= HIGH_WATER) {
      paused = true;
      child.stdout.pause();
      child.stderr.pause();
    }
    void send();
  };
  let windowTimer = setTimeout(cut, WINDOW_MS);

  const push = (kind, payload) => {
    window.push({ eventId: randomUUID(), kind, ts: new Date().toISOString(), seq: seq++, payload });
    if (window.length >= MAX_BATCH) cut();
  };

  async function send() {
    if (sending) return;
    sending = true;
    while (queue.length > 0) {
      const batch = queue[0];
      if (!failed) {
        try {
          const { status, text } = await request('POST', `/jobs/${jobId}/events`, JSON.stringify({ events: batch }));
          if (status === 409 || status === 403 || status === 404) {
            failed = true;
            process.kill(-child.pid, 'SIGTERM');
          } else if (status >= 300) log(`events batch refused: ${status} ${text.slice(0, 200)}`);
        } catch (error) {
          log(`events batch lost: ${error.message}`);
        }
      }
      queue.shift();
      queued -= batch.length;
      if (paused && queued <= LOW_WATER) {
        paused = false;
        child.stdout.resume();
        child.stderr.resume();
      }
    }
    sending = false;
    drained();
  }

  const lines = (stream, onLine) =>
    new Promise((resolve) => {
      let rest = null;
      stream.on('data', (chunk) => {
        const buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let newline = buffer.indexOf(10); newline !== -1; newline = buffer.indexOf(10, start)) {
          const end = newline > start && buffer[newline - 1] === 13 ? newline - 1 : newline;
          onLine(buffer.toString('utf8', start, end));
          start = newline + 1;
        }
        rest = start < buffer.length ? buffer.subarray(start) : null;
      });
      stream.on('end', () => {
        if (rest) onLine(rest.toString('utf8'));
        resolve();
      });
    });

  const stdoutDone = lines(child.stdout, (line) => {
    if (line.startsWith('{')) {
      try {
        const message = JSON.parse(line);
        if (message && typeof message === 'object' && !Array.isArray(message)) {
          if (typeof message.session_id === 'string' && message.session_id) sessionId = message.session_id;
          if (message.type === 'result') result = message;
          return push(kindOf(message), message);
        }
      } catch {
        // not JSON after all: a text line
      }
    }
    push('stdout_line', line);
  });
  const stderrTail = [];
  const stderrDone = lines(child.stderr, (line) => {
    if (line.trim()) stderrTail.splice(0, stderrTail.push(line) - 20);
    push('stderr_line', line);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const heartbeat = setInterval(() => void request('POST', `/jobs/${jobId}/heartbeat`).catch(() => {}), HEARTBEAT_MS);

  const [{ code, signal }] = await Promise.all([exited, stdoutDone, stderrDone]);
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // the group is gone already
  }
  clearTimeout(windowTimer);
  if (window.length > 0) {
    queue.push(window);
    queued += window.length;
    window = [];
  }
  await new Promise((resolve) => {
    drained = resolve;
    if (!sending) void send();
  });
  clearInterval(heartbeat);

  const exitCode = code ?? -1;
  const reportedError = result ? result.is_error === true || result.subtype !== 'success' : false;
  const ok = exitCode === 0 && !reportedError;
  const cost = typeof result?.total_cost_usd === 'number' ? Math.round(result.total_cost_usd * 1e6) : undefined;
  const body = {
    status: failed ? 'cancelled' : ok ? 'completed' : 'failed',
    exitCode,
    signal: signal ?? null,
    elapsedSec: (Date.now() - startedAt) / 1000,
    ...(cost !== undefined && { costMicros: cost }),
    sessionId,
    ...((await version) !== undefined && { cliVersion: await version }),
    errorMessage: ok ? null : (typeof result?.result === 'string' ? result.result : stderrTail.join('\n')).slice(0, 2000) || `exit ${exitCode}`,
  };
  await request('POST', `/jobs/${jobId}/complete`, JSON.stringify(body));
}

let lastPoll = -Infinity;
while (!stopping) {
  const wait = lastPoll + POLL_MIN_INTERVAL_MS - Date.now();
  if (wait > 0) await sleep(wait);
  if (stopping) break;
  lastPoll = Date.now();
  let answer;
  try {
    answer = await request('GET', '/jobs/next', undefined, stopPolling.signal);
  } catch (error) {
    if (stopping) break;
    log(`poll failed: ${error.message}`);
    continue;
  }
  if (answer.status === 401) {
    log('token rejected');
    process.exit(3);
  }
  if (answer.status !== 200) continue;
  const job = JSON.parse(answer.text);
  const claim = await request('POST', `/jobs/${job.jobId}/claim`);
  if (claim.status !== 200) continue;
  await runJob(JSON.parse(claim.text));
  lastPoll = -Infinity;
}
process.exit(0);
