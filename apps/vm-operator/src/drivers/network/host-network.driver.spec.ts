import { mkdtempSync, rmSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { CommandError } from '@ferry/platform';
import type { CommandRunner } from './dnsmasq';
import { HostNetworkDriver, NetworkSetupError } from './host-network.driver';
import type { NetworkMode } from './network-options';
import { tapName } from './network-options';

const VM = '3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b';
const NIC = { mac: '52:54:00:0a:0b:0c', model: 'virtio-net-pci' as const };

describe('HostNetworkDriver (commands stubbed)', () => {
  const runtimeDir = mkdtempSync('/tmp/ferry-net-unit-');
  const calls: string[] = [];
  const driver = (mode: NetworkMode, run: CommandRunner = async () => '') =>
    new HostNetworkDriver(
      // A bridge name no host has, so the driver goes to create it.
      { mode, bridge: 'fbunit-none', cidr: '10.213.0.1/24', dnsmasqBinary: 'dnsmasq', runtimeDir },
      async (file, args, timeoutMs) => {
        calls.push([file, ...args].join(' '));
        return run(file, args, timeoutMs);
      },
    );

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => (calls.length = 0));
  afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

  it('gives user-mode NICs no host side at all', async () => {
    expect(await driver('user').prepareNics(VM, [NIC])).toEqual([
      { mac: NIC.mac, model: 'virtio-net-pci', backend: { type: 'user' } },
    ]);
    expect(calls).toEqual([]);
  });

  it('refuses to start a VM with NICs under none, naming the setting', async () => {
    expect(await driver('none').prepareNics(VM, [])).toEqual([]);
    await expect(driver('none').prepareNics(VM, [NIC])).rejects.toThrow(
      /has 1 NIC\(s\) but VM_NETWORK_MODE=none .*nics: \[\]/,
    );
  });

  it('needs no bridge for a VM without NICs', async () => {
    expect(await driver('bridge').prepareNics(VM, [])).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('fails a bridge it cannot create with what to do, and never falls back to user mode', async () => {
    const denied = driver('bridge', async (file, args) => {
      throw new CommandError(
        `${file} ${args.join(' ')}`,
        'failed',
        ['RTNETLINK answers: Operation not permitted'],
        2,
      );
    });
    const err = await denied.prepareNics(VM, [NIC]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkSetupError);
    const message = (err as Error).message;
    expect(message).toMatch(/VM_NETWORK_MODE=bridge needs CAP_NET_ADMIN and \/dev\/net\/tun/);
    expect(message).toMatch(/set VM_NETWORK_MODE=user .* or VM_NETWORK_MODE=none/);
    // Where /dev/net/tun opens, the failing command and its words are in the message too.
    if (calls.length > 0) {
      expect(calls[0]).toBe('ip link add name fbunit-none type bridge');
      expect(message).toContain('cannot create bridge "fbunit-none"');
      expect(message).toContain('RTNETLINK answers: Operation not permitted');
    }
  });

  it('refuses a bridge name Linux would not take', () => {
    expect(
      () =>
        new HostNetworkDriver({
          mode: 'bridge',
          bridge: 'a-bridge-name-too-long',
          cidr: '10.213.0.1/24',
          dnsmasqBinary: 'dnsmasq',
          runtimeDir,
        }),
    ).toThrow(/VM_NETWORK_BRIDGE/);
  });

  it("removes only a deleted VM's taps that exist", async () => {
    // No tap of this id exists on any host: nothing to run.
    expect(await driver('bridge').releaseNics(`${VM}-gone`)).toEqual([]);
    expect(calls).toEqual([]);
    expect(tapName(VM, 0)).toHaveLength(15);
  });
});
