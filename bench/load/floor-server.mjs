#!/usr/bin/env node
/**
 * The floor under the idle long-poll rows: a bare node:http server that does nothing but hold each
 * `GET /api/runner/jobs/next` for the protocol's 30 s, or the wait it asks for (`Prefer: wait=N`), and answer 204 (no
 * authentication, no database, no limits), and answer /healthz. What node:http itself costs to hold N waiting polls on this machine: the reference server's
 * idle figures are read beside it. Prints "listening on <url>" once it listens.
 */
import { createServer } from 'node:http';

const HOLD_MS = 30_000;
const holdMs = (req) => {
  const asked = /wait=(\d+)/.exec(req.headers.prefer ?? '')?.[1];
  return asked === undefined ? HOLD_MS : Number(asked) * 1000;
};

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  const timer = setTimeout(() => res.writeHead(204).end(), holdMs(req));
  res.once('close', () => clearTimeout(timer));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
