/**
 * A tiny authoritative DNS server on loopback (UDP, dns-packet): answers TXT records the test
 * publishes, NXDOMAIN otherwise. For DNS_SERVERS and for mailauth's resolver in DKIM tests.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { Resolver } from 'node:dns/promises';
import * as packet from 'dns-packet';

export interface TestDnsServer {
  /** `127.0.0.1:<port>` for DNS_SERVERS / Resolver.setServers. */
  address: string;
  txt: Map<string, string[]>;
  /** A node:dns Resolver pointed at this server. */
  resolver(): Resolver;
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const txt = new Map<string, string[]>();
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let q: packet.Packet;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    const name = question?.name.toLowerCase() ?? '';
    const values = question?.type === 'TXT' ? txt.get(name) : undefined;
    const answer = packet.encode({
      id: q.id,
      type: 'response',
      flags: packet.AUTHORITATIVE_ANSWER | (values || txt.has(name) ? 0 : 3) /* NXDOMAIN */,
      questions: q.questions,
      // Long values are split into 255-byte strings, as in real zones.
      answers: (values ?? []).map((v) => ({
        type: 'TXT' as const,
        name,
        ttl: 60,
        class: 'IN' as const,
        data: v.match(/.{1,255}/g) ?? [''],
      })),
    });
    sock.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const address = `127.0.0.1:${(sock.address() as AddressInfo).port}`;
  return {
    address,
    txt,
    resolver() {
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([address]);
      return r;
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
