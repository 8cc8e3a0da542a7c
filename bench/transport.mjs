#!/usr/bin/env node
/**
 * CPU per request of the ways the runner could send its HTTP requests, side by side in one process: fetch itself,
 * ky as the runner would configure it (no retry, no timeout, no thrown HTTP errors, redirects not followed), and ky
 * with its retry limit set to 0 through the object form. The server runs in a child process, so that only the
 * client's CPU is counted. Rounds alternate between the clients, so that a noisy neighbour costs each the same.
 *
 *   node bench/transport.mjs                  # 80 kB POSTs (a full live batch) and bodiless GETs
 *   node bench/transport.mjs --bytes=1048576 --requests=200
 */
import { spawn } from 'node:child_process';
import ky from 'ky';

const argv = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg) => arg.replace(/^--/, '').split('='))
    .map(([key, value]) => [key, Number(value)]),
);
const BODY_BYTES = argv.bytes ?? 80 * 1024;
const REQUESTS = argv.requests ?? 500;
const ROUNDS = argv.rounds ?? 6;

const server = spawn(
  process.execPath,
  [
    '-e',
    `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(204).end()); })
       .listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve) => server.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))));
const base = `http://127.0.0.1:${port}/`;
const headers = { authorization: `Bearer fos_${'b'.repeat(32)}`, 'user-agent': 'founderos-runner/bench' };
const jsonHeaders = { ...headers, 'content-type': 'application/json' };
const body = JSON.stringify({ events: [{ payload: 'x'.repeat(Math.max(0, BODY_BYTES - 30)) }] });

const kyClient = ky.create({ prefixUrl: base, headers, retry: 0, throwHttpErrors: false, redirect: 'manual', timeout: false });
const kyNoRetry = ky.create({
  prefixUrl: base,
  headers,
  retry: { limit: 0, methods: [] },
  throwHttpErrors: false,
  redirect: 'manual',
  timeout: false,
});

/** Each sends one request and reads its (empty) answer. */
const clients = {
  fetch: {
    post: () => fetch(`${base}events`, { method: 'POST', body, headers: jsonHeaders, redirect: 'manual' }),
    get: () => fetch(`${base}next`, { headers, redirect: 'manual' }),
  },
  'ky (retry: 0)': {
    post: () => kyClient.post('events', { body, headers: { 'content-type': 'application/json' } }),
    get: () => kyClient.get('next'),
  },
  'ky (retry.limit 0, no methods)': {
    post: () => kyNoRetry.post('events', { body, headers: { 'content-type': 'application/json' } }),
    get: () => kyNoRetry.get('next'),
  },
};

async function measure(send) {
  const start = process.cpuUsage();
  for (let index = 0; index < REQUESTS; index++) await (await send()).arrayBuffer();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / REQUESTS;
}

const results = {};
for (const name of Object.keys(clients)) results[name] = { post: [], get: [] };
// A warm-up round that is not counted: the JIT and the connection pool.
for (const client of Object.values(clients)) {
  await measure(client.post);
  await measure(client.get);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, client] of Object.entries(clients)) {
    results[name].post.push(await measure(client.post));
    results[name].get.push(await measure(client.get));
  }
}
server.kill();

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fetchPost = median(results.fetch.post);
const fetchGet = median(results.fetch.get);
process.stdout.write(
  `CPU per request (median of ${ROUNDS} rounds of ${REQUESTS}), POST of ${BODY_BYTES} bytes and a bodiless GET:\n` +
    `${'client'.padEnd(32)} ${'POST ms'.padStart(8)} ${'× fetch'.padStart(8)} ${'GET ms'.padStart(8)} ${'× fetch'.padStart(8)}\n`,
);
for (const [name, { post, get }] of Object.entries(results)) {
  const p = median(post);
  const g = median(get);
  process.stdout.write(
    `${name.padEnd(32)} ${p.toFixed(3).padStart(8)} ${(p / fetchPost).toFixed(2).padStart(8)} ${g.toFixed(3).padStart(8)} ${(g / fetchGet).toFixed(2).padStart(8)}\n`,
  );
}
