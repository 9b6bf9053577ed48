/**
 * clientKey (src/platform/limits/attempts.ts): the client part of every per-client limit key.
 * IPv4 as it is, IPv4-mapped IPv6 as its IPv4, IPv6 by its /64, a zone index dropped.
 */
import { describe, expect, it } from 'vitest';
import { clientKey } from '../../src/platform/limits/attempts.js';

describe('clientKey', () => {
  it('keys IPv4 by the address, IPv6 by its /64', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', '127.0.0.1'],
      ['203.0.113.7', '203.0.113.7'],
      ['10.0.0.1%eth0', '10.0.0.1'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::FFFF:192.168.1.2', '192.168.1.2'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
      ['2001:DB8:0001:0002::9', '2001:db8:1:2::/64'],
      ['2001:db8::', '2001:db8:0:0::/64'],
      ['', 'unknown'],
      ['unknown', 'unknown'],
      ['%', ''],
      ['1.2.3.4%', '1.2.3.4'],
    ];
    for (const [ip, key] of cases) expect([ip, clientKey(ip)]).toEqual([ip, key]);
  });
});
