import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import {
  NET_FAIL_MARKER,
  NET_RESULT,
  buildBootableGuest,
  eventually,
  guestAddress,
  removeTestNetwork,
  testNetwork,
} from '@ferry/testing';
import { QemuDriver } from '../qemu/qemu-driver';
import { leasesByMac, parseLeases } from './dnsmasq-leases';
import { HostNetworkDriver, NetworkSetupError } from './host-network.driver';
import { tapName } from './network-options';

/** A boot takes about 4 s under TCG on an idle machine; the rest of a suite running beside it slows it. */
const BOOT_TIMEOUT_MS = 60_000;
const CONSOLE = { tailBytes: 64 * 1024, maxJsonBytes: 1024 * 1024 };

/**
 * vm-operator's bridge network against the real thing: `ip` makes a bridge and taps, dnsmasq leases
 * addresses on it, and QEMU boots the bootable test guest with a virtio NIC whose DHCP client asks.
 * The bridge and subnet are this test's own, and go with it.
 */
describe('HostNetworkDriver (real bridge, dnsmasq and QEMU)', () => {
  const runtimeDir = mkdtempSync('/tmp/fn-');
  const net = testNetwork();
  const options = { bridge: net.bridge, cidr: net.cidr, dnsmasqBinary: 'dnsmasq', runtimeDir };
  const bridge = new HostNetworkDriver({ ...options, mode: 'bridge' });
  // TCG: the test is about the network, not this host's KVM.
  const qemu = new QemuDriver({
    runtimeDir,
    qemuBinary: 'qemu-system-x86_64',
    powerdownGraceMs: 0,
    accelerator: 'tcg',
  });
  const vmId = `net-${net.bridge}`;
  const started: string[] = [];
  let bootImage = '';

  const ports = () =>
    existsSync(`/sys/class/net/${net.bridge}/brif`) ? readdirSync(`/sys/class/net/${net.bridge}/brif`) : [];

  const boot = async (id: string, nics: Parameters<QemuDriver['start']>[0]['nics']) => {
    started.push(id);
    // Each VM boots its own overlay of the one image.
    const disk = join(runtimeDir, `${id}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', bootImage, disk]);
    await qemu.start({
      id,
      cpuCount: 1,
      ramMiB: 256,
      machine: 'q35',
      disks: [{ deviceId: 'vol-boot', path: disk, format: 'qcow2', readOnly: false }],
      nics,
    });
    return eventually(
      async () => {
        const log = await qemu.readConsole(id, 'current', CONSOLE);
        return NET_RESULT.test(log.text) ? log.text : undefined;
      },
      BOOT_TIMEOUT_MS,
      `${NET_RESULT} on the console of ${id}`,
    );
  };

  beforeAll(async () => {
    const guest = await buildBootableGuest(join(runtimeDir, 'guest'), { vmwareTraits: false });
    bootImage = join(runtimeDir, 'guest', 'boot.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest.path, bootImage], {
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    for (const id of started) await qemu.stop(id, 0).catch(() => undefined);
    await removeTestNetwork(runtimeDir, net.bridge);
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  it(
    "gives a guest's NIC an address by DHCP on the bridge: the lease and what the guest prints agree",
    async () => {
      const mac = '52:54:00:5e:00:01';
      const nics = await bridge.prepareNics(vmId, [{ mac, model: 'virtio-net-pci' }]);
      const tap = tapName(vmId, 0);
      expect(nics).toEqual([{ mac, model: 'virtio-net-pci', backend: { type: 'tap', ifname: tap } }]);
      // The bridge has its address and is up; the tap is on it.
      const addr = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', net.bridge]).toString();
      expect(addr).toContain(`inet ${net.cidr}`);
      expect(ports()).toEqual([tap]);

      const console = await boot(vmId, nics);
      const printed = guestAddress(console, 'eth0');
      expect(console).not.toContain(NET_FAIL_MARKER);
      expect(printed).toMatch(new RegExp(`^${net.cidr.split('.').slice(0, 3).join('\\.')}\\.\\d+$`));
      const lease = leasesByMac(parseLeases(await bridge.readLeases())).get(mac);
      expect(lease?.ip).toBe(printed);
      // The guest stays up with its network (it powers off only without a NIC).
      expect(await qemu.runningPid(vmId)).toBeDefined();

      // dnsmasq runs daemonized as a DHCP server only, for this bridge only.
      const pid = Number(readFileSync(bridge.pidFile, 'utf8').trim());
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(args).toEqual(
        expect.arrayContaining(['--port=0', `--interface=${net.bridge}`, '--bind-interfaces']),
      );
      expect(
        Number(
          execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)])
            .toString()
            .trim(),
        ),
      ).not.toBe(process.pid);
    },
    3 * BOOT_TIMEOUT_MS,
  );

  it('is idempotent: a restarted vm-operator adopts dnsmasq and reuses the taps', async () => {
    const first = await bridge.ensureNetwork();
    const restarted = new HostNetworkDriver({ ...options, mode: 'bridge' });
    const again = await restarted.ensureNetwork();
    expect(again).toEqual({ dnsmasqPid: first.dnsmasqPid, adopted: true });
    expect(isProcessRunning(first.dnsmasqPid)).toBe(true);
    // The tap of a running VM is found and kept.
    const nics = await restarted.prepareNics(vmId, [{ mac: '52:54:00:5e:00:01', model: 'virtio-net-pci' }]);
    expect(nics[0]!.backend).toEqual({ type: 'tap', ifname: tapName(vmId, 0) });
    expect(ports()).toEqual([tapName(vmId, 0)]);
  });

  it('starts dnsmasq again when its process is gone, keeping the leases it had', async () => {
    const { dnsmasqPid } = await bridge.ensureNetwork();
    process.kill(dnsmasqPid, 'SIGKILL');
    await eventually(() => (isProcessRunning(dnsmasqPid) ? undefined : true), 10_000, 'dnsmasq to die');
    const again = await bridge.ensureNetwork();
    expect(again.adopted).toBe(false);
    expect(again.dnsmasqPid).not.toBe(dnsmasqPid);
    expect(leasesByMac(parseLeases(await bridge.readLeases())).has('52:54:00:5e:00:01')).toBe(true);
  });

  it("removes a deleted VM's taps and nothing else", async () => {
    await qemu.stop(vmId, 0);
    const other = await bridge.prepareNics(`${vmId}-b`, [
      { mac: '52:54:00:5e:00:02', model: 'virtio-net-pci' },
    ]);
    expect(ports().sort()).toEqual([tapName(vmId, 0), tapName(`${vmId}-b`, 0)].sort());
    expect(await bridge.releaseNics(vmId)).toEqual([tapName(vmId, 0)]);
    expect(existsSync(`/sys/class/net/${tapName(vmId, 0)}`)).toBe(false);
    expect(ports()).toEqual([(other[0]!.backend as { ifname: string }).ifname]);
    expect(await bridge.releaseNics(`${vmId}-b`)).toHaveLength(1);
    expect(ports()).toEqual([]);
  });

  it('refuses an interface of that name that is not a bridge, naming the setting', async () => {
    const tap = tapName(`${vmId}-not-a-bridge`, 0);
    execFileSync('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    try {
      const wrong = new HostNetworkDriver({ ...options, bridge: tap, mode: 'bridge' });
      const err = await wrong.ensureNetwork().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkSetupError);
      expect((err as Error).message).toMatch(/exists and is not a bridge; set VM_NETWORK_BRIDGE/);
    } finally {
      execFileSync('ip', ['link', 'del', 'dev', tap]);
    }
  });

  it(
    "puts a user-mode NIC on QEMU's own network: the guest leases slirp's address, the host has no tap",
    async () => {
      const user = new HostNetworkDriver({ ...options, mode: 'user' });
      const id = `${vmId}-user`;
      const nics = await user.prepareNics(id, [{ mac: '52:54:00:5e:00:03', model: 'virtio-net-pci' }]);
      const console = await boot(id, nics);
      expect(guestAddress(console, 'eth0')).toBe('10.0.2.15');
      expect(existsSync(`/sys/class/net/${tapName(id, 0)}`)).toBe(false);
      await qemu.stop(id, 0);
    },
    3 * BOOT_TIMEOUT_MS,
  );
});
