import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsEndpoints {
  /** Prometheus text format. */
  metrics: () => string;
  /** Whether the runner is healthy, and why not. */
  health: () => { ok: boolean; detail: string };
}

/**
 * `/metrics` and `/healthz` on a loopback port, for Prometheus and service monitors. Resolves with a
 * function that closes the server.
 */
export async function serveMetrics(
  port: number,
  endpoints: MetricsEndpoints,
  host = '127.0.0.1',
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(endpoints.metrics());
    } else if (req.method === 'GET' && req.url === '/healthz') {
      const { ok, detail } = endpoints.health();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, detail }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  server.unref();
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
