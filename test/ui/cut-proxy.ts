/**
 * A TCP proxy in front of the control plane whose connections a test can cut, and keep refusing for a while:
 * what a flaky network or a restarting reverse proxy does to an open event stream.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface CutProxy {
  url: string;
  /** Drops every open connection, and refuses new ones for `refuseMs`. */
  cut(refuseMs: number): void;
  /** How many connections were cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let refuseUntil = 0;
  let cuts = 0;
  const server = createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut(refuseMs) {
      refuseUntil = Date.now() + refuseMs;
      cuts += open.size > 0 ? 1 : 0;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
