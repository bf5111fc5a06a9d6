import { describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../src/http/outbound.js';

// Which addresses a webhook may reach, by class. Expected classes are from the IANA special-purpose
// address registries (RFC 6890 and its updates), not from the code.
describe('webhook addresses by class', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.20.30.40', 'private (RFC 1918)'],
    ['172.31.255.1', 'private (RFC 1918)'],
    ['192.168.0.1', 'private (RFC 1918)'],
    ['100.64.0.1', 'shared address space (RFC 6598)'],
    ['169.254.169.254', 'link-local: cloud metadata'],
    ['0.0.0.0', 'this network'],
    ['192.0.2.1', 'documentation (TEST-NET-1)'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'IPv6 loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fec0::1', 'site-local (deprecated, RFC 3879)'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::127.0.0.1', 'IPv4-compatible loopback (deprecated, RFC 4291)'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated (SIIT, RFC 6145)'],
    ['2002:7f00:1::1', '6to4 of 127.0.0.1 (RFC 3056)'],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1 (RFC 6052)'],
    ['64:ff9b:1::a00:1', 'local-use NAT64 (RFC 8215)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo (RFC 4380)'],
    ['not-an-address', 'not an address at all'],
  ])('refuses %s (%s)', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([['8.8.8.8'], ['1.1.1.1'], ['151.101.1.69'], ['2606:4700:4700::1111'], ['2a00:1450:4009:81f::200e']])(
    'allows the public address %s',
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );
});
