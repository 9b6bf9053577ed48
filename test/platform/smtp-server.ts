/**
 * A real SMTP server on loopback (smtp-server) for tests and benchmarks: no TLS, no auth; it keeps
 * what it accepts, and `answer` can make it refuse a message with any SMTP reply (4xx, 5xx).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  /** When the server accepted it (ms since the epoch). */
  at?: number;
  /** The client's port as the server saw it (behind a TcpGate: the gate's upstream connection's). */
  remotePort?: number;
}

export interface SmtpVerdict {
  code: number;
  message: string;
}

export interface TestSmtpServer {
  port: number;
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  url: string;
  received: ReceivedMail[];
  /** How many DATA commands the server has seen, accepted or not. */
  attempts: number;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /** Return a verdict to refuse this message (e.g. `{ code: 451, message: 'try later' }`). */
  answer?: (mail: ReceivedMail, attempt: number) => SmtpVerdict | undefined;
  /** Keep accepted messages in `received` (default true; benchmarks turn it off). */
  keep?: boolean;
}

/** Starts the server on an ephemeral loopback port. */
export async function startSmtpServer(opts: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const state = { received: [] as ReceivedMail[], attempts: 0, accepted: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // The server is meant for many messages in a row on few connections.
    maxClients: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.attempts++;
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          at: Date.now(),
          remotePort: session.remotePort,
        };
        const verdict = opts.answer?.(mail, state.attempts);
        if (verdict) {
          const err = new Error(verdict.message) as Error & { responseCode: number };
          err.responseCode = verdict.code;
          return callback(err);
        }
        state.accepted++;
        if (opts.keep !== false) state.received.push(mail);
        callback(null, `Ok: queued as ${state.accepted}`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received: state.received,
    get attempts() {
      return state.attempts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on (for "connection refused"). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A TCP gate on loopback in front of a server: `down()` drops every connection and refuses new
 * ones (an SMTP outage as clients see it), `up()` listens again on the same port.
 */
export interface TcpGate {
  port: number;
  url: string;
  /**
   * Stops forwarding: new connections are refused. By default open connections are cut at once
   * (a crash); `graceful` ends them from the server's side instead, so replies already written
   * (a 250 for a message the server accepted) still reach the client, as when a mail server is
   * stopped by its operator. A cut after the server accepted a message but before its 250 arrived
   * is the one duplicate no sender can avoid; a test that counts duplicates uses `graceful`.
   */
  down(o?: { graceful?: boolean }): Promise<void>;
  up(): Promise<void>;
  /** The connections open now: the client's port, the port of the gate's connection to the server (the server's remotePort), since when. */
  open(): Array<{ clientPort: number; upstreamPort: number; since: number }>;
  close(): Promise<void>;
}

/** Starts a gate forwarding to `targetPort`. */
export async function startTcpGate(targetPort: number): Promise<TcpGate> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const upstreams = new Set<import('node:net').Socket>();
  const pairs = new Map<import('node:net').Socket, { clientPort: number; upstreamPort: number; since: number }>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('connect', () =>
      pairs.set(client, { clientPort: client.remotePort!, upstreamPort: upstream.localPort!, since: Date.now() }),
    );
    sockets.add(client);
    sockets.add(upstream);
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    const drop = () => {
      pairs.delete(client);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    async down(o = {}) {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      if (o.graceful) {
        // Half-close toward the server: it ends the session after what it has written, which the
        // pipe still carries to the client; whatever is left after 2 s is cut.
        for (const u of upstreams) u.end();
        await new Promise((r) => setTimeout(r, 2000));
      }
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
    async up() {
      if (listening) return;
      await new Promise<void>((r, j) => {
        server.once('error', j);
        server.listen(port, '127.0.0.1', () => r());
      });
      listening = true;
    },
    open: () => [...pairs.values()],
    async close() {
      for (const s of sockets) s.destroy();
      if (listening) await new Promise<void>((r) => server.close(() => r()));
      listening = false;
    },
  };
}
