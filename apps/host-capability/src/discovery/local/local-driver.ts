import { constants, existsSync } from 'node:fs';
import { access, readFile, readdir, statfs } from 'node:fs/promises';
import { arch, hostname, release } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import { runCommand } from '@ferry/platform';
import type { QmpReply } from '@ferry/qemu';
import { probeKvm, runQmpStdio } from '@ferry/qemu';
import type { CapabilityDriver, ProbeOptions } from '../driver';
import type { Outcome } from '../driver';
import { errorMessage, probe, settle } from '../driver';
import type { FirmwareFile, QmpAnswer } from './local-rules';
import { decideFirmware, decideKvm, decideSev, decideTpm20 } from './local-rules';
import type { Cpuinfo, CpuTopology } from './proc-parsers';
import {
  countNumaNodes,
  hugepageSizeKb,
  linuxArch,
  parseCpuinfo,
  parseKernelBool,
  parseLsmList,
  parseMemTotalMb,
  parseSelectedMode,
  parseSysInt,
} from './proc-parsers';
import type { DeviceHelp } from './qemu-parsers';
import {
  diskBuses,
  hasDevice,
  machineCpuMax,
  nicModels,
  parseAccelHelp,
  parseCpuHelp,
  parseDeviceHelp,
  parseFirmwareDescriptor,
  parseImageFormats,
  parseMachineHelp,
  parseQemuVersion,
  qmpStringList,
} from './qemu-parsers';

/** The fact `derive` makes of an outcome; unknown with the reason when either fails. */
function fact<T, U>(outcome: Outcome<T>, source: string, derive: (value: T) => U): Fact<U> {
  if ('reason' in outcome) return unknown(source, outcome.reason);
  try {
    return known(derive(outcome.value), source);
  } catch (err) {
    return unknown(source, errorMessage(err));
  }
}

/** A fact derived from another one (same source and reason when that one is unknown). */
function from<T, U>(base: Fact<T>, derive: (value: T) => U, source = base.source): Fact<U> {
  if (base.value === null) return unknown(source, base.reason ?? 'unknown');
  return known(derive(base.value), source);
}

const exists = (path: string): Promise<boolean> =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
const readText = (path: string): Promise<string> => readFile(path, 'utf8');
const listDir = (path: string): Promise<string[]> => readdir(path).then((names) => names.sort());
const isEnoent = (err: unknown): boolean => (err as { code?: string }).code === 'ENOENT';

/** Descriptor directories in QEMU's search order; a file in a later one overrides one of the same name. */
const FIRMWARE_DIRS = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];

/** QMP commands of the one short-lived QEMU the discovery asks, by reply id. */
const QMP_COMMANDS: Record<string, string> = {
  kvm: 'query-kvm',
  sev: 'query-sev-capabilities',
  'tpm-models': 'query-tpm-models',
  'tpm-types': 'query-tpm-types',
  machines: 'query-machines',
  target: 'query-target',
};

/**
 * Discovers what this Linux machine can do, without libvirt: /proc and /sys, QEMU's help output and
 * one short-lived QMP session, qemu-img, and a paused KVM guest. Probes run concurrently; each failing
 * one costs only its own facts. Only stable facts are gathered, so two discoveries of an unchanged
 * host give equal data.
 */
export class LocalDriver implements CapabilityDriver {
  readonly name = 'local' as const;

  constructor(private readonly options: ProbeOptions) {}

  /** `uri` is `local`; the local driver only ever discovers the machine it runs on. */
  async discover(_uri: string): Promise<HostCapabilityData> {
    const { qemuBinary, qemuImg, timeoutMs } = this.options;
    const qemu = (...args: string[]) => settle(runCommand(qemuBinary, args, timeoutMs));
    const devKvmPresent = exists('/dev/kvm');
    const [
      cpuinfo,
      version,
      machineHelp,
      cpuHelp,
      deviceHelp,
      accelHelp,
      imgHelp,
      qmp,
      kvmProbe,
      devKvm,
      swtpm,
      hostTpm2,
      memory,
      numaNodes,
      nested,
      iommuGroups,
      tpmDevices,
      securityModels,
      firmware,
      network,
      vlan,
      diskTotal,
    ] = await Promise.all([
      settle(readText('/proc/cpuinfo').then(parseCpuinfo)),
      qemu('--version'),
      qemu('-machine', 'help'),
      qemu('-cpu', 'help'),
      qemu('-device', 'help'),
      qemu('-accel', 'help'),
      settle(runCommand(qemuImg, ['--help'], timeoutMs)),
      this.qmpSession(),
      devKvmPresent.then((present) => (present ? probeKvm(qemuBinary, timeoutMs) : undefined)),
      devKvmPresent,
      inPath('swtpm'),
      hasHostTpm2(),
      this.memory(),
      probe('/sys/devices/system/node', async () => {
        const entries = await listDir('/sys/devices/system/node').catch((err: unknown) => {
          if (isEnoent(err)) throw new Error('no /sys/devices/system/node (kernel without NUMA support)');
          throw err;
        });
        const count = countNumaNodes(entries);
        if (count === 0) throw new Error('no node* entries');
        return count;
      }),
      this.nested(),
      probe('/sys/kernel/iommu_groups', async () => (await listDir('/sys/kernel/iommu_groups')).length),
      probe('/dev/tpm*', async () =>
        (await listDir('/dev')).filter((n) => /^tpm(rm)?\d+$/.test(n)).map((n) => `/dev/${n}`),
      ),
      probe('/sys/kernel/security/lsm', async () => parseLsmList(await readText('/sys/kernel/security/lsm'))),
      firmwareDescriptors(),
      this.network(),
      this.vlan(),
      this.diskTotal(),
    ]);

    const qemuSource = (...args: string[]) => [qemuBinary, ...args].join(' ');
    const cpu = fact(cpuinfo, '/proc/cpuinfo', (c) => c);
    const topology = (pick: (t: CpuTopology) => number): Fact<number> => {
      if (cpu.value === null) return unknown('/proc/cpuinfo', cpu.reason ?? 'unknown');
      const t = cpu.value.topology;
      return 'reason' in t ? unknown('/proc/cpuinfo', t.reason) : known(pick(t), '/proc/cpuinfo');
    };
    const cpuField = <T>(pick: (c: Cpuinfo) => T | undefined, field: string): Fact<T> => {
      if (cpu.value === null) return unknown('/proc/cpuinfo', cpu.reason ?? 'unknown');
      const value = pick(cpu.value);
      return value === undefined
        ? unknown('/proc/cpuinfo', `no "${field}" in /proc/cpuinfo`)
        : known(value, '/proc/cpuinfo');
    };
    const flags = cpuField((c) => c.flags, 'flags');

    const devices = fact(deviceHelp, qemuSource('-device', 'help'), parseDeviceHelp);
    const device = <T>(derive: (help: DeviceHelp) => T): Fact<T> => from(devices, derive);
    const formats = fact(imgHelp, `${qemuImg} --help`, parseImageFormats);
    const machines = fact(machineHelp, qemuSource('-machine', 'help'), parseMachineHelp);
    const qmpAnswer = (id: string): QmpAnswer =>
      'reason' in qmp
        ? { missing: qmp.reason }
        : (qmp.value.get(id) ?? { missing: `no reply to ${QMP_COMMANDS[id]}` });
    const qmpFact = <T>(id: string, derive: (value: unknown) => T): Fact<T> => {
      const answer = qmpAnswer(id);
      const source = `QMP ${QMP_COMMANDS[id]}`;
      if ('missing' in answer) return unknown(source, answer.missing);
      if ('error' in answer) return unknown(source, `${answer.error.class}: ${answer.error.desc}`);
      return fact({ value: answer.return }, source, derive);
    };

    const kvmPresent = qmpAnswer('kvm');
    const kvm = decideKvm({
      devKvm,
      qemu: 'reason' in version ? { ran: false, reason: version.reason } : { ran: true },
      qmpKvmPresent:
        'return' in kvmPresent ? (kvmPresent.return as { present?: boolean } | null)?.present : undefined,
      probeFailure: kvmProbe,
    });
    const tpmModels = qmpFact('tpm-models', qmpStringList);
    const tpmBackends = qmpFact('tpm-types', qmpStringList);
    const guestArches = qmpFact('target', (t) => {
      const targetArch = (t as { arch?: unknown } | null)?.arch;
      if (typeof targetArch !== 'string') throw new Error('query-target gave no arch');
      return [targetArch];
    });
    const guestArch = guestArches.value?.[0] ?? binaryArch(qemuBinary);
    const { uefi, secureBoot } = decideFirmware(firmware, FIRMWARE_DIRS, guestArch, (p) => existsSync(p));
    const accels = fact(accelHelp, qemuSource('-accel', 'help'), parseAccelHelp);
    const domainSource = `${qemuSource('-accel', 'help')} + paused KVM guest probe`;
    let domainTypes: Fact<string[]>;
    if (accels.value === null) domainTypes = unknown(domainSource, accels.reason ?? 'unknown');
    else if (kvm.value === null) domainTypes = unknown(domainSource, kvm.reason ?? 'unknown');
    else {
      const types = accels.value.includes('tcg') ? ['qemu'] : [];
      if (kvm.value) types.push('kvm');
      domainTypes = known(types.sort(), domainSource);
    }

    return {
      host: {
        hostname: known(hostname(), 'os.hostname()'),
        arch: known(linuxArch(arch()), 'os.arch()'),
        cpu_model: cpuField((c) => c.modelName, 'model name'),
        cpu_vendor: cpuField((c) => c.vendor, 'vendor_id'),
        numa_nodes: numaNodes,
        sockets: topology((t) => t.sockets),
        cores_per_socket: topology((t) => t.coresPerSocket),
        threads_per_core: topology((t) => t.threadsPerCore),
        logical_cpus: from(cpu, (c) => c.logicalCpus),
        kernel: known(release(), 'os.release()'),
      },
      cpu: {
        features: flags,
        models: fact(cpuHelp, qemuSource('-cpu', 'help'), parseCpuHelp),
        vmx: from(flags, (f) => f.includes('vmx')),
        svm: from(flags, (f) => f.includes('svm')),
        host_passthrough: from(kvm, (usable) => usable),
        host_model: unknown(
          'libvirt domcapabilities',
          'host-model is resolved by libvirt; no libvirt on a local host',
        ),
      },
      memory: {
        ...memory,
        balloon: device((d) => hasDevice(d, 'virtio-balloon-pci')),
      },
      security: {
        security_models: securityModels,
        uefi,
        secure_boot: secureBoot,
        tpm_devices: tpmDevices,
        tpm_models: tpmModels,
        tpm_backends: tpmBackends,
        tpm_2_0: decideTpm20({ models: tpmModels, backends: tpmBackends, swtpm, hostTpm2 }),
        sev: decideSev(qmpAnswer('sev'), kvm),
        iommu: from(iommuGroups, (n) => n > 0),
        iommu_groups: iommuGroups,
      },
      storage: {
        image_formats: formats,
        pool_types: unknown('libvirt', 'no libvirt on a local host'),
        disk_buses: device(diskBuses),
        encryption: from(formats, (f) => f.includes('luks')),
        io_throttling: from(formats, (f) => f.includes('throttle')),
        disk_total_gb: diskTotal,
      },
      network: {
        ...network,
        nic_models: device(nicModels),
        virtio_net: device((d) => nicModels(d).includes('virtio-net-pci')),
        vlan,
      },
      virtualization: {
        hypervisor: fact(version, qemuSource('--version'), (text) => {
          parseQemuVersion(text); // throws unless it is QEMU's answer
          return 'QEMU';
        }),
        hypervisor_version: fact(version, qemuSource('--version'), parseQemuVersion),
        domain_types: domainTypes,
        kvm,
        nested,
        machine_types: from(machines, (m) => m.machines),
        guest_arches: guestArches,
        max_vcpus: qmpFact('machines', (m) => machineCpuMax(m).cpuMax),
        // What the host can back without overcommitting: all of its RAM, the ceiling of one guest.
        // (Placement's MEMORY_MB inventory keeps HOST_CAPABILITY_RESERVED_MEMORY_MB back from it.)
        max_memory_mb: from(memory.total_mb, (mb) => mb, '/proc/meminfo MemTotal'),
      },
    };
  }

  /**
   * One QEMU without a machine (`-machine none`, so no vCPU is created and it starts even where
   * KVM guests abort), KVM if it opens else TCG, answering the QMP commands on stdio and quitting.
   */
  private qmpSession(): Promise<Outcome<Map<string, QmpReply>>> {
    const args = ['-machine', 'none', '-accel', 'kvm', '-accel', 'tcg', '-nodefaults', '-no-user-config'];
    args.push('-display', 'none');
    const commands = Object.entries(QMP_COMMANDS).map(([id, execute]) => ({ execute, id }));
    return settle(runQmpStdio(this.options.qemuBinary, args, commands, this.options.timeoutMs));
  }

  private async memory() {
    const hugepages = settle(
      listDir('/sys/kernel/mm/hugepages').then(async (entries) => {
        const sizes = entries
          .map((e) => [e, hugepageSizeKb(e)] as const)
          .filter(([, kb]) => kb !== undefined);
        sizes.sort(([, a], [, b]) => (a as number) - (b as number));
        const totals: Record<string, number> = {};
        for (const [entry, kb] of sizes) {
          totals[String(kb)] = parseSysInt(await readText(`/sys/kernel/mm/hugepages/${entry}/nr_hugepages`));
        }
        return { sizes: sizes.map(([, kb]) => kb as number), totals };
      }),
    );
    const ksmDir = '/sys/kernel/mm/ksm';
    const [totalMb, pages, thp, ksmAvailable] = await Promise.all([
      probe('/proc/meminfo', async () => parseMemTotalMb(await readText('/proc/meminfo'))),
      hugepages,
      probe('/sys/kernel/mm/transparent_hugepage/enabled', async () =>
        parseSelectedMode(await readText('/sys/kernel/mm/transparent_hugepage/enabled')),
      ),
      exists(ksmDir),
    ]);
    // /sys/kernel/mm/ksm is the kernel's KSM interface: without it KSM is not built in, so not running.
    const ksmRunning = ksmAvailable
      ? await probe(`${ksmDir}/run`, async () => parseSysInt(await readText(`${ksmDir}/run`)) === 1)
      : known(false, ksmDir);
    return {
      total_mb: totalMb,
      hugepage_sizes_kb: fact(pages, '/sys/kernel/mm/hugepages', (p) => p.sizes),
      hugepages_total: fact(pages, '/sys/kernel/mm/hugepages/*/nr_hugepages', (p) => p.totals),
      transparent_hugepage: thp,
      ksm_available: known(ksmAvailable, ksmDir),
      ksm_running: ksmRunning,
    };
  }

  /** The KVM module's `nested` parameter (kvm_intel or kvm_amd). */
  private async nested(): Promise<Fact<boolean>> {
    for (const module of ['kvm_intel', 'kvm_amd']) {
      const path = `/sys/module/${module}/parameters/nested`;
      if (await exists(path)) return probe(path, async () => parseKernelBool(await readText(path)));
    }
    const loaded = (await listDir('/sys/module').catch(() => [])).filter((m) => /^kvm(_|$)/.test(m));
    const source = '/sys/module/kvm_{intel,amd}/parameters/nested';
    return unknown(
      source,
      `neither kvm_intel nor kvm_amd is loaded${loaded.length ? ` (KVM modules: ${loaded.join(', ')})` : ''}`,
    );
  }

  private async network() {
    const classNet = '/sys/class/net';
    const interfaces = await settle(listDir(classNet).then((names) => names.filter((n) => n !== 'lo')));
    if ('reason' in interfaces) {
      return {
        interfaces: unknown<string[]>(classNet, interfaces.reason),
        bridges: unknown<string[]>(`${classNet}/*/bridge`, interfaces.reason),
        sriov: unknown<Record<string, number>>(`${classNet}/*/device/sriov_totalvfs`, interfaces.reason),
      };
    }
    const names = interfaces.value;
    const bridges = await Promise.all(names.map((n) => exists(join(classNet, n, 'bridge'))));
    const sriov = await probe(`${classNet}/*/device/sriov_totalvfs`, async () => {
      const counts: Record<string, number> = {};
      for (const name of names) {
        const text = await readText(join(classNet, name, 'device', 'sriov_totalvfs')).catch(
          (err: unknown) => {
            if (isEnoent(err)) return undefined;
            throw err;
          },
        );
        const total = text === undefined ? 0 : parseSysInt(text);
        if (total > 0) counts[name] = total;
      }
      return counts;
    });
    return {
      interfaces: known(names, classNet),
      bridges: known(
        names.filter((_, i) => bridges[i]),
        `${classNet}/*/bridge`,
      ),
      sriov,
    };
  }

  /** 802.1Q: the 8021q module is loaded, built in, or installed (so it can be loaded). */
  private async vlan(): Promise<Fact<boolean>> {
    const modules = `/lib/modules/${release()}`;
    for (const path of ['/proc/net/vlan', '/sys/module/8021q', `${modules}/kernel/net/8021q`]) {
      if (await exists(path)) return known(true, path);
    }
    const builtin = await readText(`${modules}/modules.builtin`).catch(() => '');
    if (/(^|\/)8021q\.ko$/m.test(builtin)) return known(true, `${modules}/modules.builtin`);
    return unknown(
      `/proc/net/vlan, /sys/module/8021q, ${modules}`,
      'the 8021q module is neither loaded nor installed; whether it can be loaded is unknown',
    );
  }

  /** Size of the file system that holds `diskPath` (or its nearest existing parent), in GiB. */
  private async diskTotal(): Promise<Fact<number>> {
    let path = resolve(this.options.diskPath);
    while (!(await exists(path)) && dirname(path) !== path) path = dirname(path);
    return probe(`statfs ${path}`, async () => {
      const fs = await statfs(path);
      return Math.floor((fs.blocks * fs.bsize) / 1024 ** 3);
    });
  }
}

/** Whether `command` is an executable file in one of PATH's directories. */
async function inPath(command: string): Promise<boolean> {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  const found = await Promise.all(
    dirs.map((d) =>
      access(join(d, command), constants.X_OK).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.includes(true);
}

/** A host TPM 2.0: /dev/tpmN whose /sys/class/tpm/tpmN/tpm_version_major is 2. */
async function hasHostTpm2(): Promise<boolean> {
  const devices = await listDir('/sys/class/tpm').catch(() => []);
  for (const name of devices.filter((n) => /^tpm\d+$/.test(n))) {
    const major = await readText(`/sys/class/tpm/${name}/tpm_version_major`).catch(() => '');
    if (major.trim() === '2' && (await exists(`/dev/${name}`))) return true;
  }
  return false;
}

/** The guest architecture a `qemu-system-<arch>` binary emulates (x86_64 if its name does not say). */
function binaryArch(binary: string): string {
  return /^qemu-system-(.+)$/.exec(basename(binary))?.[1] ?? 'x86_64';
}

/** The descriptors of FIRMWARE_DIRS; a later directory's file overrides an earlier one's of that name,
 * an empty file masks it. Unreadable or invalid descriptors are skipped, as QEMU's tools skip them. */
async function firmwareDescriptors(): Promise<FirmwareFile[]> {
  const byName = new Map<string, string>();
  for (const dir of FIRMWARE_DIRS) {
    for (const name of await listDir(dir).catch(() => [])) {
      if (name.endsWith('.json')) byName.set(name, join(dir, name));
    }
  }
  const files: FirmwareFile[] = [];
  for (const name of [...byName.keys()].sort()) {
    const path = byName.get(name) as string;
    try {
      const text = await readText(path);
      if (text.trim()) files.push({ path, descriptor: parseFirmwareDescriptor(text) });
    } catch {
      // skipped, like QEMU's firmware selection does
    }
  }
  return files;
}
