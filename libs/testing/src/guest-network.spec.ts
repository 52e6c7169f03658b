import { NET_RESULT, guestAddress, parseNetResults } from './guest-network';

const console = [
  'FERRY-BOOT-OK root=/dev/vda2',
  'FERRY-FSTAB-OK',
  'udhcpc: lease of 10.213.0.57 obtained from 10.213.0.1, lease time 3600',
  'FERRY-NET-OK eth0 10.213.0.57',
  'FERRY-NET-FAIL ens192: no such interface (the NICs are: eth0)',
  'FERRY-NET-OK eth0 10.213.0.99',
  'FERRY-NET-OK eth1 10.213.0.1', // cut off: no end of line yet
].join('\n');

describe('the guest network markers', () => {
  it('parses every complete result line, in order', () => {
    expect(parseNetResults(console)).toEqual([
      { iface: 'eth0', ok: true, ip: '10.213.0.57' },
      { iface: 'ens192', ok: false, reason: 'no such interface (the NICs are: eth0)' },
      { iface: 'eth0', ok: true, ip: '10.213.0.99' },
    ]);
  });

  it("gives an interface's last printed address", () => {
    expect(guestAddress(console, 'eth0')).toBe('10.213.0.99');
    expect(guestAddress(console)).toBe('10.213.0.99');
    expect(guestAddress(console, 'ens192')).toBeUndefined();
    expect(guestAddress('FERRY-FSTAB-OK\n')).toBeUndefined();
  });

  it('matches a whole result line only', () => {
    expect(NET_RESULT.test('FERRY-NET-OK eth0 10.213.0.5')).toBe(false);
    expect(NET_RESULT.test('FERRY-NET-OK eth0 10.213.0.5\n')).toBe(true);
    expect(NET_RESULT.test('FERRY-NET-FAIL ens192: no DHCP lease within 15 s\n')).toBe(true);
  });
});
