import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { TrustProxy } from '../../src/config.ts';
import { clientAddressKeys, dropInvalidForwardedFor, trustProxyOption } from '../../src/platform/http/client-ip.ts';

/** request.ip as the app computes it, for a request from `socket` with `forwardedFor`. */
async function clientIp(trustProxy: TrustProxy, socket: string, forwardedFor?: string): Promise<string> {
  const app = Fastify({ trustProxy: trustProxyOption(trustProxy) });
  app.addHook('onRequest', dropInvalidForwardedFor);
  app.get('/', async (request) => request.ip);
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  const response = await app.inject({ method: 'GET', url: '/', remoteAddress: socket, headers });
  await app.close();
  return response.body;
}

test('X-Forwarded-For: trusted hops are skipped, spoofed entries before them ignored, garbage never becomes the client', async () => {
  const cases: [TrustProxy, string, string | undefined, string][] = [
    // No proxy trusted: the header is ignored whatever it says.
    [false, '203.0.113.1', '198.51.100.1', '203.0.113.1'],
    [false, '203.0.113.1', 'garbage', '203.0.113.1'],
    // One hop (TRUST_PROXY=1): the proxy's own entry, not what the client wrote before it.
    [1, '10.0.0.1', '198.51.100.66, 203.0.113.7', '203.0.113.7'],
    [1, '10.0.0.1', '203.0.113.7', '203.0.113.7'],
    [1, '10.0.0.1', 'garbage', '10.0.0.1'],
    [1, '10.0.0.1', '198.51.100.66, garbage', '198.51.100.66'],
    [1, '10.0.0.1', undefined, '10.0.0.1'],
    // The proxies' addresses.
    [['10.0.0.0/8'], '10.0.0.1', '198.51.100.66, 203.0.113.7, 10.0.0.2', '203.0.113.7'],
    [['10.0.0.0/8'], '10.0.0.1', 'garbage, 10.0.0.2', '10.0.0.2'],
    [['10.0.0.0/8'], '10.0.0.1', '0x7f.1, 1.2.3.4:80, [::1], ', '10.0.0.1'],
    [['10.0.0.0/8'], '203.0.113.9', '198.51.100.66', '203.0.113.9'],
    [['10.0.0.0/8'], '10.0.0.1', '2001:db8::1', '2001:db8::1'],
    // Trust everything (development only): the furthest address, but never garbage.
    [true, '10.0.0.1', '198.51.100.66, 203.0.113.7', '198.51.100.66'],
    [true, '10.0.0.1', 'garbage, 203.0.113.7', '203.0.113.7'],
    [true, '10.0.0.1', 'garbage', '10.0.0.1'],
  ];
  for (const [trustProxy, socket, forwardedFor, expected] of cases) {
    assert.equal(
      await clientIp(trustProxy, socket, forwardedFor),
      expected,
      `${JSON.stringify(trustProxy)} ${socket} ${forwardedFor}`,
    );
  }
});

test('client keys: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64 with its /48', () => {
  assert.deepEqual(clientAddressKeys('203.0.113.7'), { address: '203.0.113.7' });
  assert.deepEqual(clientAddressKeys('::ffff:203.0.113.7'), { address: '203.0.113.7' });
  assert.deepEqual(clientAddressKeys('2001:db8:1:2:aaaa::1'), { address: '2001:db8:1:2::/64', network: '2001:db8:1::/48' });
  assert.deepEqual(clientAddressKeys('2001:0db8::1'), { address: '2001:db8:0:0::/64', network: '2001:db8:0::/48' });
  assert.deepEqual(clientAddressKeys('fe80::1%eth0'), { address: 'fe80:0:0:0::/64', network: 'fe80:0:0::/48' });
});
