import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { CAPABILITY_CATEGORIES } from '@ferry/contracts';
import type { ProbeOptions } from '../driver';
import { HostUnreachableError } from '../driver';
import { LibvirtDriver } from './libvirt-driver';
import type { VirshExec } from './virsh';
import { VirshError } from './virsh';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const options: ProbeOptions = {
  qemuBinary: 'q',
  qemuImg: 'qi',
  virsh: 'virsh',
  timeoutMs: 1000,
  diskPath: '/',
};

type Answer = string | VirshError | ((args: readonly string[]) => string);

/** A driver whose virsh answers from a table (by the subcommand and its arguments). */
class FakeDriver extends LibvirtDriver {
  readonly calls: { args: string; readOnly: boolean }[] = [];
  maxRunning = 0;
  private running = 0;

  constructor(private readonly answers: Record<string, Answer>) {
    super(options);
  }

  protected override virsh(_uri: string): VirshExec {
    return async (args, opts) => {
      const key = args.join(' ');
      this.calls.push({ args: key, readOnly: opts?.readOnly !== false });
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      await new Promise((r) => setTimeout(r, 1));
      this.running--;
      const answer =
        this.answers[key] ??
        Object.entries(this.answers).find(([k]) => k.endsWith(' *') && key.startsWith(k.slice(0, -1)))?.[1];
      if (answer === undefined) throw new VirshError(key, [`no answer for "${key}" in the test`], 'failed');
      if (answer instanceof VirshError) throw answer;
      return typeof answer === 'function' ? answer(args) : answer;
    };
  }
}

const unsupported = (cmd: string, api: string) =>
  new VirshError(cmd, [`this function is not supported by the connection driver: ${api}`], 'failed');

/** A KVM host as virsh would describe it: the fixtures plus pools, interfaces, networks and devices. */
function kvmHost(): Record<string, Answer> {
  return {
    capabilities: fixture('kvm-host-capabilities.xml'),
    'cpu-baseline --features *': (args) => {
      // The driver hands virsh the capabilities in a file.
      expect(readFileSync(args[2], 'utf8')).toBe(fixture('kvm-host-capabilities.xml'));
      return fixture('kvm-host-cpu-baseline.xml');
    },
    version: 'Using API: QEMU 9.0.0\nRunning hypervisor: QEMU 8.2.2\n',
    hostname: 'kvm-07.example\n',
    nodememstats: 'total  :            263984292 KiB\nfree   :            200000000 KiB\n',
    'domcapabilities --virttype kvm --arch x86_64 --machine q35': fixture(
      'domcapabilities-kvm-efi-tpm-sev.xml',
    ),
    'domcapabilities --virttype kvm --arch x86_64 --machine pc': fixture(
      'qemu-system-domcapabilities-kvm-q35.xml',
    ),
    'pool-capabilities': fixture('qemu-system-pool-capabilities.xml'),
    'pool-list --name': 'default\nimages\n',
    'pool-dumpxml default': `<pool type='dir'><name>default</name><capacity unit='bytes'>500107862016</capacity></pool>`,
    'pool-dumpxml images': `<pool type='logical'><name>images</name><capacity unit='bytes'>1099511627776</capacity></pool>`,
    'iface-list --all':
      ' Name   State   MAC Address\n----------------------------\n eno1  active  aa\n br0  active  bb\n eno1.20  active  cc\n lo  active  00\n',
    'iface-dumpxml eno1': `<interface type='ethernet' name='eno1'/>`,
    'iface-dumpxml br0': `<interface type='bridge' name='br0'><bridge/></interface>`,
    'iface-dumpxml eno1.20': `<interface type='vlan' name='eno1.20'><vlan tag='20'/></interface>`,
    'net-list --name': 'default\n',
    'net-dumpxml default': `<network><name>default</name><bridge name='virbr0'/></network>`,
    'nodedev-list --cap net': 'net_eno1_aa\nnet_lo_00\n',
    'nodedev-dumpxml net_eno1_aa': `<device><name>net_eno1_aa</name><parent>pci_0000_3b_00_0</parent>
      <capability type='net'><interface>eno1</interface></capability></device>`,
    'nodedev-dumpxml net_lo_00': `<device><name>net_lo_00</name><parent>computer</parent>
      <capability type='net'><interface>lo</interface></capability></device>`,
    'nodedev-dumpxml pci_0000_3b_00_0': `<device><name>pci_0000_3b_00_0</name><capability type='pci'>
      <capability type='virt_functions' maxCount='64'/></capability></device>`,
  };
}

function expectWellFormed(data: HostCapabilityData): void {
  for (const category of CAPABILITY_CATEGORIES) {
    for (const [field, fact] of Object.entries(data[category]) as [string, Fact<unknown>][]) {
      const where = `${category}.${field}`;
      expect({ where, ok: fact.source.length > 0 && (fact.value === null) === !!fact.reason }).toEqual({
        where,
        ok: true,
      });
      expect({ where, reason: fact.reason }).not.toEqual({ where, reason: 'not probed' });
    }
  }
}

describe('LibvirtDriver', () => {
  it('discovers a KVM host from virsh’s answers', async () => {
    const driver = new FakeDriver(kvmHost());
    const data = await driver.discover('qemu+ssh://root@kvm-07/system');
    expectWellFormed(data);

    expect(data.host.hostname.value).toBe('kvm-07.example');
    expect(data.host.sockets.value).toBe(2);
    expect(data.host.logical_cpus.value).toBe(16);
    expect(data.virtualization.hypervisor.value).toBe('QEMU');
    expect(data.virtualization.hypervisor_version.value).toBe('8.2.2');
    expect(data.memory.total_mb).toEqual({ value: 257797, source: 'virsh nodememstats (total)' });
    expect(data.virtualization.max_memory_mb.value).toBe(257797);
    // cpu-baseline expanded the model: sse2 comes from Westmere, and svm is now a known no.
    expect(data.cpu.features.value).toEqual(expect.arrayContaining(['sse2', 'vmx', 'avx2']));
    expect(data.cpu.vmx.value).toBe(true);
    expect(data.cpu.svm).toEqual({ value: false, source: data.cpu.features.source });

    // q35 and pc answers merged.
    const domcaps = 'virsh domcapabilities --virttype kvm --machine q35|pc';
    expect(data.security.sev).toEqual({ value: true, source: domcaps });
    expect(data.security.uefi.value).toBe(true);
    expect(data.security.secure_boot.value).toBe(true);
    expect(data.security.tpm_2_0.value).toBe(true);
    expect(data.virtualization.max_vcpus.value).toBe(4096);
    expect(data.cpu.models.value).toEqual(expect.arrayContaining(['EPYC-Milan', 'pentium']));

    expect(data.storage.disk_total_gb.value).toBe(1489); // 465.76 + 1024 GiB, rounded down
    expect(data.storage.pool_types.value).toContain('dir');
    expect(data.network.interfaces.value).toEqual(['br0', 'eno1', 'eno1.20']);
    expect(data.network.bridges.value).toEqual(['br0', 'virbr0']);
    expect(data.network.vlan.value).toBe(true);
    expect(data.network.sriov.value).toEqual({ eno1: 64 });
    expect(data.host.kernel.value).toBeNull();

    // Read-only connections, except domcapabilities, which libvirt refuses on them.
    for (const call of driver.calls) {
      expect({ args: call.args, readOnly: call.readOnly }).toEqual({
        args: call.args,
        readOnly: !call.args.startsWith('domcapabilities'),
      });
    }
    expect(driver.maxRunning).toBeLessThanOrEqual(4);
    expect(await new FakeDriver(kvmHost()).discover('x')).toEqual(data);
  });

  it('asks domcapabilities for TCG when capabilities offer no kvm', async () => {
    const answers = kvmHost();
    answers['capabilities'] = fixture('kvm-host-capabilities.xml').replace(/<domain type='kvm'\/>/g, '');
    delete answers['domcapabilities --virttype kvm --arch x86_64 --machine q35'];
    delete answers['domcapabilities --virttype kvm --arch x86_64 --machine pc'];
    answers['domcapabilities --virttype qemu --arch x86_64 --machine q35'] = fixture(
      'qemu-system-domcapabilities-tcg-q35.xml',
    );
    answers['domcapabilities --virttype qemu --arch x86_64 --machine pc'] = unsupported('x', 'y');
    const data = await new FakeDriver(answers).discover('qemu:///system');
    expect(data.virtualization.domain_types.value).toEqual(['qemu']);
    expect(data.virtualization.kvm.value).toBe(false);
    expect(data.cpu.host_passthrough).toEqual({
      value: false,
      source: 'virsh domcapabilities --virttype qemu --machine q35',
    });
  });

  it('throws HostUnreachableError with libvirt’s reason when it cannot connect, and runs nothing else', async () => {
    const driver = new FakeDriver({
      capabilities: new VirshError(
        'capabilities',
        [
          'failed to connect to the hypervisor',
          "unable to connect to server at '127.0.0.1:1': Connection refused",
        ],
        'failed',
      ),
    });
    const err = await driver.discover('qemu+tcp://127.0.0.1:1/system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toBe(
      'libvirt at qemu+tcp://127.0.0.1:1/system: failed to connect to the hypervisor: ' +
        "unable to connect to server at '127.0.0.1:1': Connection refused",
    );
    expect(driver.calls.map((c) => c.args)).toEqual(['capabilities']);
  });

  it('treats a timed-out capabilities as unreachable', async () => {
    const driver = new FakeDriver({
      capabilities: new VirshError('capabilities', ['timed out after 1000 ms'], 'timeout'),
    });
    await expect(driver.discover('qemu+ssh://h/system')).rejects.toThrow(HostUnreachableError);
  });

  it('fails plainly (not unreachable) when virsh cannot run', async () => {
    const driver = new FakeDriver({
      capabilities: new VirshError('capabilities', ['cannot run virsh: ENOENT'], 'spawn'),
    });
    const err = await driver.discover('qemu:///system').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(HostUnreachableError);
  });

  it('a failing probe costs only its own facts', async () => {
    const answers = kvmHost();
    answers['capabilities'] = unsupported('capabilities', 'virConnectGetCapabilities');
    answers['nodememstats'] = unsupported('nodememstats', 'virNodeGetMemoryStats');
    answers['iface-dumpxml br0'] = new VirshError('iface-dumpxml br0', ['Interface not found'], 'failed');
    const data = await new FakeDriver(answers).discover('qemu:///system');
    expectWellFormed(data);
    expect(data.host.arch.value).toBeNull();
    expect(data.host.arch.reason).toBe(
      'virsh capabilities: this function is not supported by the connection driver: virConnectGetCapabilities',
    );
    expect(data.memory.total_mb.reason).toMatch(/virNodeGetMemoryStats/);
    expect(data.virtualization.max_memory_mb.value).toBeNull();
    // One interface could not be read: the bridge list would be incomplete, so it is unknown.
    expect(data.network.bridges.value).toBeNull();
    expect(data.network.interfaces.value).toEqual(['br0', 'eno1', 'eno1.20']);
    // domcapabilities still ran (default virt type and machine), hostname too.
    expect(data.host.hostname.value).toBe('kvm-07.example');
    expect(data.storage.disk_total_gb.value).toBe(1489);
  });

  it('no active pools: disk total unknown', async () => {
    const answers = kvmHost();
    answers['pool-list --name'] = '\n';
    const data = await new FakeDriver(answers).discover('qemu:///system');
    expect(data.storage.disk_total_gb.value).toBeNull();
    expect(data.storage.disk_total_gb.reason).toBe('no active storage pools');
  });
});
