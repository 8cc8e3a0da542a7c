#!/usr/bin/env node
// A fake `claude` for the benchmarks: prints stream-json lines of about 300 bytes, as fast as stdout takes them
// (or one every `intervalMs`), each stamped with the wall-clock time at which it was written.
//
// The prompt (on stdin) is JSON: {"lines": N, "intervalMs": 0, "jitter": false, "lineBytes": 300}; with `jitter`, the
// pause between lines is uniform in [0.5, 1.5] × intervalMs, so that lines do not keep one phase against the
// runner's 50 ms batch windows. With `"gate": "<path>"`, it prints its first line, waits until that file exists,
// then prints the rest, and at the end writes the wall-clock time of its last line to `<path>.done` (the
// catch-up bench takes the server down before it opens the gate). The first line (a `system`
// `init`) carries `startedAt`, the wall-clock time at which this process started (performance.timeOrigin), and
// `t`, the time its script began; the last line is a `result`, so the runner reports the job completed.
const now = () => performance.timeOrigin + performance.now();
const scriptStart = now();

if (process.argv.includes('--version')) {
  process.stdout.write('1.0.0 (Flood)\n');
  process.exit(0);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let spec = {};
try {
  spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));
} catch {
  // an empty or foreign prompt: the defaults below
}
const lines = Number.isInteger(spec.lines) && spec.lines >= 0 ? spec.lines : 1;
// biome-ignore lint/complexity/useMathMinMax: Math.max would let NaN through; a missing or bad interval must mean 0
const intervalMs = Number(spec.intervalMs) > 0 ? Number(spec.intervalMs) : 0;
const jitter = spec.jitter === true;
const lineBytes = Number.isInteger(spec.lineBytes) ? spec.lineBytes : 300;
const gate = typeof spec.gate === 'string' && spec.gate ? spec.gate : undefined;
const session = 'flood-session-0001';
const out = process.stdout;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// stdout to a pipe or a file is synchronous in Node on Linux, so `write` blocks while the pipe is full; the
// drain wait below keeps this honest where it is not (other platforms, sockets).
const write = async (text) => {
  if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
};

await write(
  `${JSON.stringify({ type: 'system', subtype: 'init', session_id: session, startedAt: performance.timeOrigin, t: scriptStart, lines })}\n`,
);

// Every line is the same size: the fixed part, a zero-padded index and time, and padding up to `lineBytes`.
const head = '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"';
const tail = (t) => `"}]},"session_id":"${session}","t":${t.toFixed(3)}}\n`;
const sample = `${head}line 0000000 ${tail(now())}`;
const pad = 'x'.repeat(Math.max(0, lineBytes - sample.length));

if (gate) {
  const { existsSync } = await import('node:fs');
  while (!existsSync(gate)) await sleep(5);
}

for (let i = 0; i < lines; i++) {
  await write(`${head}line ${String(i).padStart(7, '0')} ${pad}${tail(now())}`);
  if (intervalMs) await sleep(jitter ? intervalMs * (0.5 + Math.random()) : intervalMs);
}

await write(
  `${JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'done', total_cost_usd: 0.0001, session_id: session, t: now() })}\n`,
);
if (gate) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${gate}.done`, String(now()));
}
