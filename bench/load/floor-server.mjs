#!/usr/bin/env node
/**
 * The floor under the idle long-poll rows: a bare node:http server that does nothing but hold each
 * `GET /api/runner/jobs/next` for the protocol's 30 s, or the wait it asks for (`Prefer: wait=N`, read as the
 * reference server reads it, with no limit), and answer 204 (no authentication, no database, no limits), and answer
 * /healthz. What node:http itself costs to hold N waiting polls on this machine: the reference server's idle figures
 * are read beside it. Prints "listening on <url>" once it listens.
 */
import { createServer } from 'node:http';
import { PROTOCOL_WAIT_SEC, readWaitPreference } from '../../dist/protocol/prefer-wait.js';

const holdMs = (req) => (readWaitPreference(req.headers.prefer) ?? PROTOCOL_WAIT_SEC) * 1000;

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
