import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy that can turn into a black hole: a network path that silently drops, with no RST and no FIN, as when
 * Wi-Fi goes or a NAT forgets a flow. While the hole is on, every byte either side sends is swallowed and no socket is
 * closed; connections opened meanwhile are accepted and swallowed too. A connection that lost bytes stays dead after the
 * hole closes (its peer's TCP would be deep in retransmission backoff, minutes on a real network: the worst case);
 * a connection that was idle through the hole, and every new one, works again.
 */
export async function startBlackHoleProxy(target: string) {
  const upstream = new URL(target);
  let hole = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    let dead = hole;
    const server = connect(Number(upstream.port), upstream.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        // A side that closed while the path works is passed on; during the hole or on a dead connection, nothing is.
        if (!dead && !hole) (socket === client ? server : client).destroy();
      });
    }
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (hole) dead = true;
      if (!dead) to.write(chunk);
    };
    client.on('data', forward(server));
    server.on('data', forward(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** The path drops silently. */
    drop: () => {
      hole = true;
    },
    /** The path is back. */
    restore: () => {
      hole = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
