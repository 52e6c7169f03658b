import { FerryError, isUnicastMac } from '@ferry/contracts';
import type { HostNetworkDriver } from '../drivers/network/host-network.driver';
import type { NetworkMode } from '../drivers/network/network-options';
import type { NicsRepository } from './nics.repository';
import { VmNetwork, generateMac } from './vm-network.service';

const network = (mode: NetworkMode, calls: string[] = [], leases = '') =>
  new VmNetwork(
    {
      mode,
      prepareNics: async (vmId: string, nics: { mac: string }[]) => {
        calls.push(`prepare:${vmId}:${nics.map((n) => n.mac).join(',')}`);
        return [];
      },
      readLeases: async () => leases,
    } as unknown as HostNetworkDriver,
    {
      listForVm: async () => [
        { index: 0, mac: '52:54:00:0a:0b:0c', model: 'virtio-net-pci' },
        { index: 1, mac: '52:54:00:0a:0b:0d', model: 'virtio-net-pci' },
      ],
      markPriorLeases: async (vmId: string, prior: (number | null)[]) =>
        void calls.push(`prior:${vmId}:${prior.join(',')}`),
    } as unknown as NicsRepository,
  );

describe('generateMac', () => {
  it("draws QEMU's 52:54:00 prefix and three random bytes: unicast, lower case", () => {
    const macs = Array.from({ length: 200 }, generateMac);
    for (const mac of macs) {
      expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
      expect(isUnicastMac(mac)).toBe(true);
    }
    expect(new Set(macs).size).toBeGreaterThan(190);
  });
});

describe('VmNetwork.plan', () => {
  it('gives a VM one NIC with a generated MAC unless told otherwise', () => {
    for (const mode of ['bridge', 'user'] as const) {
      const [nic, ...rest] = network(mode).plan(undefined);
      expect(rest).toEqual([]);
      expect(nic).toMatchObject({ model: 'virtio-net-pci', generated: true });
      expect(nic!.mac).toMatch(/^52:54:00:/);
    }
    expect(network('none').plan(undefined)).toEqual([]);
  });

  it('takes the NICs asked for in order (MACs lower-cased), and [] as none', () => {
    expect(network('bridge').plan([])).toEqual([]);
    expect(network('none').plan([])).toEqual([]);
    const planned = network('bridge').plan([{ mac: '00:50:56:A1:2B:3C' }, {}]);
    expect(planned[0]).toEqual({ mac: '00:50:56:a1:2b:3c', model: 'virtio-net-pci', generated: false });
    expect(planned[1]).toMatchObject({ generated: true });
  });

  it('refuses NICs under VM_NETWORK_MODE=none as UNPROCESSABLE naming the setting', () => {
    let err: unknown;
    try {
      network('none').plan([{}]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({
      code: 'UNPROCESSABLE',
      details: { setting: 'VM_NETWORK_MODE', mode: 'none' },
    });
    expect((err as Error).message).toMatch(/VM_NETWORK_MODE=none/);
  });
});

describe('VmNetwork.prepare', () => {
  it("records each MAC's lease from before the start, so that only this boot's counts", async () => {
    const calls: string[] = [];
    const leases = '1767225600 52:54:00:0a:0b:0d 10.213.0.9 * *\n';
    await network('bridge', calls, leases).prepare('vm-1');
    expect(calls).toEqual(['prepare:vm-1:52:54:00:0a:0b:0c,52:54:00:0a:0b:0d', 'prior:vm-1:,1767225600']);
  });

  it('has no leases to look at in user mode', async () => {
    const calls: string[] = [];
    await network('user', calls).prepare('vm-1');
    expect(calls).toEqual(['prepare:vm-1:52:54:00:0a:0b:0c,52:54:00:0a:0b:0d']);
  });
});
