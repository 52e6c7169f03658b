import type { DhcpLease } from '../drivers/network/dnsmasq-leases';
import { nicUpdate } from './lease-watcher.service';
import type { LiveNic } from './nics.repository';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const inAnHour = NOW / 1000 + 3600;
const nic = (over: Partial<LiveNic> = {}): LiveNic => ({
  vmId: 'vm-1',
  index: 0,
  mac: '52:54:00:0a:0b:0c',
  ip: null,
  leaseExpiresAt: null,
  priorLeaseExpiry: null,
  ...over,
});
const lease = (over: Partial<DhcpLease> = {}): DhcpLease => ({
  expires: inAnHour,
  mac: '52:54:00:0a:0b:0c',
  ip: '10.213.0.57',
  hostname: null,
  ...over,
});

describe('nicUpdate (what a lease does to a NIC of a running VM)', () => {
  it("gives the NIC its lease's address", () => {
    expect(nicUpdate(nic(), lease(), NOW)).toEqual({
      kind: 'address',
      ip: '10.213.0.57',
      leaseExpiresAt: new Date(inAnHour * 1000),
    });
    expect(nicUpdate(nic(), lease({ expires: 0 }), NOW)).toEqual({
      kind: 'address',
      ip: '10.213.0.57',
      leaseExpiresAt: null,
    });
  });

  it("ignores the lease the MAC held before the VM started (an earlier boot's)", () => {
    expect(nicUpdate(nic({ priorLeaseExpiry: inAnHour }), lease(), NOW)).toBeUndefined();
    // The guest asked again: a new expiry.
    expect(
      nicUpdate(nic({ priorLeaseExpiry: inAnHour }), lease({ expires: inAnHour + 60 }), NOW),
    ).toMatchObject({
      kind: 'address',
      ip: '10.213.0.57',
    });
  });

  it('follows a new address, and only renews a lease of the same one', () => {
    const bound = nic({ ip: '10.213.0.57', leaseExpiresAt: new Date(inAnHour * 1000) });
    expect(nicUpdate(bound, lease(), NOW)).toBeUndefined();
    expect(nicUpdate(bound, lease({ expires: inAnHour + 1800 }), NOW)).toEqual({
      kind: 'renewed',
      leaseExpiresAt: new Date((inAnHour + 1800) * 1000),
    });
    expect(nicUpdate(bound, lease({ ip: '10.213.0.99' }), NOW)).toMatchObject({
      kind: 'address',
      ip: '10.213.0.99',
    });
  });

  it('drops an address when its lease has ended, and not because one read of the file missed it', () => {
    const bound = nic({ ip: '10.213.0.57', leaseExpiresAt: new Date(NOW + 60_000) });
    expect(nicUpdate(bound, undefined, NOW)).toBeUndefined();
    expect(nicUpdate(bound, undefined, NOW + 60_000)).toEqual({
      kind: 'address',
      ip: null,
      leaseExpiresAt: null,
    });
    expect(nicUpdate(bound, lease({ expires: NOW / 1000 + 60 }), NOW + 61_000)).toMatchObject({ ip: null });
    expect(nicUpdate(nic(), undefined, NOW)).toBeUndefined();
  });
});
