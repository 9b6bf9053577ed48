/**
 * A loopback TCP proxy a test controls, to put between an instance and its PostgreSQL server:
 * `refuse()` resets every open connection and every new one (the database "goes away"),
 * `accept()` lets connections through again, `resetAll()` drops the open ones only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Resets the open connections and every new one until `accept()`. */
  refuse(): void;
  accept(): void;
  /** Resets the open connections (new ones still pass). */
  resetAll(): void;
  /** Connections refused since the start. */
  refused(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let refusedCount = 0;
  const drop = (s: Socket) => {
    // An RST, as a crashed or restarted server's host sends.
    if (!s.destroyed) s.resetAndDestroy();
  };
  const server: Server = createServer((client) => {
    if (refusing) {
      refusedCount++;
      drop(client);
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const done = () => {
      open.delete(client);
      open.delete(upstream);
      drop(client);
      drop(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const resetAll = () => {
    for (const s of [...open]) drop(s);
    open.clear();
  };
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    refuse() {
      refusing = true;
      resetAll();
    },
    accept() {
      refusing = false;
    },
    resetAll,
    refused: () => refusedCount,
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}
