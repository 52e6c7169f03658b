import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import type { CapabilityDriver, ProbeOptions } from '../driver';
import { errorMessage, HostUnreachableError, settle } from '../driver';
import type { ParsedCapabilities } from './capabilities-xml';
import { CAPABILITIES_SOURCE, cpuFlags, parseBaselineFeatures, parseCapabilities } from './capabilities-xml';
import type { DomainCapabilityFacts } from './domcapabilities-xml';
import {
  domainCapabilityData,
  mergeDomainCapabilities,
  parseDomainCapabilities,
} from './domcapabilities-xml';
import { parseInterfaceXml, parseNetworkBridge, parseNodeDevice } from './network-xml';
import type { PartialCapabilityData } from './partial';
import { allUnknown, mergeInto } from './partial';
import { parsePoolCapabilities, parsePoolCapacity } from './pool-capabilities-xml';
import type { VirshExec } from './virsh';
import { limiter, VirshError, virshExec } from './virsh';
import { parseIfaceList, parseNameList, parseNodeMemStats, parseVersion } from './virsh-text';

/** virsh commands one discovery runs at a time (each is a connection; sshd drops bursts of them). */
const CONCURRENCY = 4;
/** Machine types whose domain capabilities are asked, when the host offers them. */
const MACHINES = ['q35', 'pc'];
const NOT_BY_LIBVIRT = 'not reported by libvirt';

/**
 * Discovers what a host reachable by a libvirt URI can do, with `virsh` (read-only connections,
 * except `domcapabilities`, which libvirt refuses on them). `virsh capabilities` goes first: when it
 * cannot connect the host is unreachable and nothing else runs; then the other probes run
 * concurrently, each failure costing only its own facts. Lists are sorted and no fact carries a time,
 * so two discoveries of an unchanged host are equal.
 */
export class LibvirtDriver implements CapabilityDriver {
  readonly name = 'libvirt' as const;

  constructor(private readonly options: ProbeOptions) {}

  /** The virsh runner for one URI (tests replace it). */
  protected virsh(uri: string): VirshExec {
    return virshExec(this.options.virsh, uri, this.options.timeoutMs);
  }

  async discover(uri: string): Promise<HostCapabilityData> {
    const exec = this.virsh(uri);
    const limit = limiter(CONCURRENCY);
    const run: VirshExec = (args, opts) => limit(() => exec(args, opts));

    const { caps, xml } = await this.capabilities(uri, run);
    const parts = await Promise.all([
      this.version(run),
      this.hostname(run),
      this.memory(run),
      this.cpuFeatures(run, caps, xml),
      this.domainCapabilities(run, caps),
      this.poolCapabilities(run),
      this.diskTotal(run),
      this.network(run),
      this.sriov(run),
    ]);
    const data = mergeInto(
      baseline(),
      'data' in caps ? caps.data : capabilitiesUnknown(caps.reason),
      ...parts,
    );
    // Like the local driver: one guest can have at most all of the host's RAM.
    data.virtualization.max_memory_mb =
      data.memory.total_mb.value === null
        ? unknown(data.memory.total_mb.source, data.memory.total_mb.reason ?? 'unknown')
        : known(data.memory.total_mb.value, `${data.memory.total_mb.source} (all of the host's RAM)`);
    return data;
  }

  /** `virsh capabilities`; throws HostUnreachableError when libvirt cannot connect. */
  private async capabilities(
    uri: string,
    run: VirshExec,
  ): Promise<{ caps: ParsedCapabilities | { reason: string }; xml: string }> {
    let xml: string;
    try {
      xml = await run(['capabilities']);
    } catch (err) {
      if (err instanceof VirshError && err.connectFailed) {
        throw new HostUnreachableError(`libvirt at ${uri}: ${err.lines.join(': ')}`);
      }
      // virsh itself is missing or broken: a fault of this service, not of the host.
      if (err instanceof VirshError && err.kind === 'spawn') throw new Error(err.message);
      return { caps: { reason: errorMessage(err) }, xml: '' };
    }
    try {
      return { caps: parseCapabilities(xml), xml };
    } catch (err) {
      return { caps: { reason: `virsh capabilities: ${errorMessage(err)}` }, xml };
    }
  }

  private async version(run: VirshExec): Promise<PartialCapabilityData> {
    const source = 'virsh version';
    const out = await settle(run(['version']));
    if ('reason' in out) {
      return { virtualization: allUnknown(['hypervisor', 'hypervisor_version'], source, out.reason) };
    }
    const v = parseVersion(out.value);
    const missing = 'virsh version printed no "Running hypervisor" line';
    return {
      virtualization: {
        hypervisor: v.hypervisor ? known(v.hypervisor, source) : unknown(source, missing),
        hypervisor_version: v.version ? known(v.version, source) : unknown(source, missing),
      },
    };
  }

  private async hostname(run: VirshExec): Promise<PartialCapabilityData> {
    const source = 'virsh hostname';
    const out = await settle(run(['hostname']));
    if ('reason' in out) return { host: { hostname: unknown(source, out.reason) } };
    const name = out.value.trim();
    return {
      host: { hostname: name ? known(name, source) : unknown(source, 'virsh hostname printed nothing') },
    };
  }

  /**
   * Total memory from `virsh nodememstats` (all NUMA nodes; `nodeinfo`'s figure is node 0's on some
   * hosts, so it is not used). No fallback: a driver without nodememstats leaves it unknown.
   */
  private async memory(run: VirshExec): Promise<PartialCapabilityData> {
    const source = 'virsh nodememstats (total)';
    const out = await settle(run(['nodememstats']).then(parseNodeMemStats));
    return {
      memory: {
        total_mb:
          'reason' in out
            ? unknown(source, out.reason)
            : known(Math.floor(out.value['total'] / 1024), source),
      },
    };
  }

  /**
   * The host CPU's whole feature list: libvirt lists a modelled CPU's features relative to its model,
   * and `virsh cpu-baseline --features` of the capabilities expands the model's own ones.
   */
  private async cpuFeatures(
    run: VirshExec,
    caps: ParsedCapabilities | { reason: string },
    capsXml: string,
  ): Promise<PartialCapabilityData> {
    if (!('data' in caps) || !caps.listedFeatures || caps.listedFeatures.complete) return {};
    const source = 'virsh cpu-baseline --features (host CPU of virsh capabilities)';
    // virsh reads the file itself (also for a remote URI) and takes the host <cpu> of a capabilities
    // document. A file, not /dev/stdin: Node's stdin pipe is a socket, which virsh cannot open.
    const out = await settle(
      withTempFile('capabilities.xml', capsXml, (file) =>
        run(['cpu-baseline', '--features', file]).then(parseBaselineFeatures),
      ),
    );
    // Without it the listed features stay (their source says they are partial), vmx/svm true only if listed.
    if ('reason' in out) return {};
    const features = [...new Set([...out.value, ...caps.listedFeatures.names])].sort();
    return { cpu: { features: known(features, source), ...cpuFlags(features, true, source) } };
  }

  /**
   * `virsh domcapabilities` for q35 and pc (those the host offers for its arch; the default machine
   * if neither), with virt type kvm when capabilities offer it, else qemu. Answers are merged.
   */
  private async domainCapabilities(
    run: VirshExec,
    caps: ParsedCapabilities | { reason: string },
  ): Promise<PartialCapabilityData> {
    const guest = 'data' in caps ? caps.hostArchGuest : null;
    const arch = 'data' in caps ? caps.hostArch : null;
    const types = guest?.domainTypes ?? [];
    const virttype = types.includes('kvm') ? 'kvm' : types.includes('qemu') ? 'qemu' : types[0];
    const machines: (string | undefined)[] = MACHINES.filter((m) => guest?.machines.includes(m));
    if (!machines.length) machines.push(undefined);

    const argsFor = (machine: string | undefined) => [
      'domcapabilities',
      ...(virttype ? ['--virttype', virttype] : []),
      ...(arch && guest ? ['--arch', arch] : []),
      ...(machine ? ['--machine', machine] : []),
    ];
    const answers = await Promise.all(
      machines.map(async (machine) => {
        const args = argsFor(machine);
        const source = `virsh ${args.join(' ')}`;
        // libvirt refuses domcapabilities on a read-only connection.
        const out = await settle(
          run(args, { readOnly: false }).then((xml) => parseDomainCapabilities(xml, source)),
        );
        return { machine, out };
      }),
    );
    const ok = answers.flatMap((a) => ('value' in a.out ? [{ machine: a.machine, facts: a.out.value }] : []));
    const describe = (list: (string | undefined)[]) =>
      `virsh domcapabilities${virttype ? ` --virttype ${virttype}` : ''}` +
      (list.some(Boolean) ? ` --machine ${list.filter(Boolean).join('|')}` : '');
    if (!ok.length) {
      const reason = answers.map((a) => ('reason' in a.out ? a.out.reason : '')).join('; ');
      return domainCapabilityData(allFacts(unknown(describe(machines), reason)));
    }
    const facts: DomainCapabilityFacts[] = ok.map((o) => o.facts);
    return domainCapabilityData(mergeDomainCapabilities(facts, describe(ok.map((o) => o.machine))));
  }

  private async poolCapabilities(run: VirshExec): Promise<PartialCapabilityData> {
    const source = 'virsh pool-capabilities';
    const out = await settle(run(['pool-capabilities']).then((xml) => parsePoolCapabilities(xml, source)));
    if ('reason' in out) {
      return { storage: allUnknown(['pool_types', 'image_formats', 'encryption'], source, out.reason) };
    }
    return { storage: out.value };
  }

  /** The summed capacity of the active storage pools, in GiB (rounded down). */
  private async diskTotal(run: VirshExec): Promise<PartialCapabilityData> {
    const source = 'virsh pool-list + pool-dumpxml (capacity of the active pools)';
    const out = await settle(
      (async () => {
        const names = parseNameList(await run(['pool-list', '--name']));
        if (!names.length) throw new Error('no active storage pools');
        const pools = await Promise.all(
          names.map(async (n) => parsePoolCapacity(await run(['pool-dumpxml', n]))),
        );
        let bytes = 0;
        for (const p of pools) {
          if (p.capacityBytes === undefined) throw new Error(`pool ${p.name} reports no capacity`);
          bytes += p.capacityBytes;
        }
        return Math.floor(bytes / 1024 ** 3);
      })(),
    );
    return {
      storage: { disk_total_gb: 'reason' in out ? unknown(source, out.reason) : known(out.value, source) },
    };
  }

  /**
   * Interfaces from `iface-list --all` (without lo); bridges are the interfaces of type bridge plus the
   * bridges of active libvirt networks; VLAN is known true only when a vlan interface exists.
   */
  private async network(run: VirshExec): Promise<PartialCapabilityData> {
    const ifaceSource = 'virsh iface-list --all';
    const bridgeSource = 'virsh iface-dumpxml (type bridge) + net-dumpxml (<bridge name>)';
    const names = await settle(run(['iface-list', '--all']).then(parseIfaceList));
    if ('reason' in names) {
      return {
        network: {
          interfaces: unknown(ifaceSource, names.reason),
          bridges: unknown(bridgeSource, names.reason),
          vlan: unknown('virsh iface-dumpxml', `${NOT_BY_LIBVIRT} (${names.reason})`),
        },
      };
    }
    const interfaces = names.value.filter((n) => n !== 'lo').sort();
    const [ifaces, networkBridges] = await Promise.all([
      settle(Promise.all(interfaces.map(async (n) => parseInterfaceXml(await run(['iface-dumpxml', n]))))),
      settle(
        run(['net-list', '--name']).then((out) =>
          Promise.all(parseNameList(out).map(async (n) => parseNetworkBridge(await run(['net-dumpxml', n])))),
        ),
      ),
    ]);
    let bridges: Fact<string[]>;
    if ('reason' in ifaces) bridges = unknown(bridgeSource, ifaces.reason);
    else if ('reason' in networkBridges) bridges = unknown(bridgeSource, networkBridges.reason);
    else {
      const all = [
        ...ifaces.value.filter((i) => i.type === 'bridge').map((i) => i.name),
        ...networkBridges.value.filter((b): b is string => !!b),
      ];
      bridges = known([...new Set(all)].sort(), bridgeSource);
    }
    const hasVlan = 'value' in ifaces && ifaces.value.some((i) => i.type === 'vlan');
    return {
      network: {
        interfaces: known(interfaces, ifaceSource),
        bridges,
        vlan: hasVlan
          ? known(true, 'virsh iface-dumpxml (an interface of type vlan)')
          : unknown('virsh iface-dumpxml', `${NOT_BY_LIBVIRT} (no vlan interface exists)`),
      },
    };
  }

  /**
   * SR-IOV: for each `net` node device (but lo), its PCI parent's `virt_functions` capability gives
   * the total VFs; interfaces without it are not listed.
   */
  private async sriov(run: VirshExec): Promise<PartialCapabilityData> {
    const source =
      'virsh nodedev-list --cap net + nodedev-dumpxml (virt_functions maxCount of the PCI parent)';
    const out = await settle(
      (async () => {
        const devices = parseNameList(await run(['nodedev-list', '--cap', 'net']));
        const nets = await Promise.all(
          devices.map(async (d) => parseNodeDevice(await run(['nodedev-dumpxml', d]))),
        );
        const parents = [
          ...new Set(nets.map((n) => n.parent).filter((p): p is string => !!p?.startsWith('pci_'))),
        ];
        const pci = new Map(
          await Promise.all(
            parents.map(async (p) => [p, parseNodeDevice(await run(['nodedev-dumpxml', p]))] as const),
          ),
        );
        const counts: [string, number][] = [];
        for (const n of nets) {
          const max = n.parent ? pci.get(n.parent)?.maxVirtualFunctions : undefined;
          if (n.netInterface && n.netInterface !== 'lo' && max) counts.push([n.netInterface, max]);
        }
        counts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return Object.fromEntries(counts);
      })(),
    );
    return { network: { sriov: 'reason' in out ? unknown(source, out.reason) : known(out.value, source) } };
  }
}

async function withTempFile<T>(name: string, content: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-libvirt-'));
  try {
    const file = join(dir, name);
    await writeFile(file, content);
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function allFacts(fact: Fact<never>): DomainCapabilityFacts {
  return {
    max_vcpus: fact,
    uefi: fact,
    secure_boot: fact,
    host_passthrough: fact,
    host_model: fact,
    models: fact,
    disk_buses: fact,
    tpm_models: fact,
    tpm_backends: fact,
    tpm_2_0: fact,
    sev: fact,
    balloon: fact,
  };
}

/** Every fact that `virsh capabilities` gives, unknown because it failed. */
function capabilitiesUnknown(reason: string): PartialCapabilityData {
  const source = CAPABILITIES_SOURCE;
  return {
    host: allUnknown(
      [
        'arch',
        'cpu_model',
        'cpu_vendor',
        'numa_nodes',
        'sockets',
        'cores_per_socket',
        'threads_per_core',
        'logical_cpus',
      ],
      source,
      reason,
    ),
    cpu: allUnknown(['features', 'vmx', 'svm'], source, reason),
    memory: allUnknown(['hugepage_sizes_kb', 'hugepages_total'], source, reason),
    security: allUnknown(['security_models', 'iommu', 'iommu_groups'], source, reason),
    virtualization: allUnknown(['guest_arches', 'domain_types', 'machine_types', 'kvm'], source, reason),
  };
}

/** Every field, unknown: what libvirt never reports keeps these; the probes overwrite the rest. */
function baseline(): HostCapabilityData {
  const u = <T>(source: string, reason = NOT_BY_LIBVIRT): Fact<T> => unknown<T>(source, reason);
  const pending = 'not probed';
  return {
    host: {
      hostname: u('virsh hostname', pending),
      arch: u(CAPABILITIES_SOURCE, pending),
      cpu_model: u(CAPABILITIES_SOURCE, pending),
      cpu_vendor: u(CAPABILITIES_SOURCE, pending),
      numa_nodes: u(CAPABILITIES_SOURCE, pending),
      sockets: u(CAPABILITIES_SOURCE, pending),
      cores_per_socket: u(CAPABILITIES_SOURCE, pending),
      threads_per_core: u(CAPABILITIES_SOURCE, pending),
      logical_cpus: u(CAPABILITIES_SOURCE, pending),
      kernel: u('libvirt', 'libvirt does not report the host kernel'),
    },
    cpu: {
      features: u(CAPABILITIES_SOURCE, pending),
      models: u('virsh domcapabilities', pending),
      vmx: u(CAPABILITIES_SOURCE, pending),
      svm: u(CAPABILITIES_SOURCE, pending),
      host_passthrough: u('virsh domcapabilities', pending),
      host_model: u('virsh domcapabilities', pending),
    },
    memory: {
      total_mb: u('virsh nodememstats', pending),
      hugepage_sizes_kb: u(CAPABILITIES_SOURCE, pending),
      hugepages_total: u(CAPABILITIES_SOURCE, pending),
      transparent_hugepage: u('libvirt'),
      ksm_available: u('libvirt'),
      ksm_running: u('libvirt'),
      balloon: u('virsh domcapabilities', pending),
    },
    security: {
      security_models: u(CAPABILITIES_SOURCE, pending),
      uefi: u('virsh domcapabilities', pending),
      secure_boot: u('virsh domcapabilities', pending),
      tpm_devices: u('libvirt', 'libvirt does not list host TPM devices'),
      tpm_models: u('virsh domcapabilities', pending),
      tpm_backends: u('virsh domcapabilities', pending),
      tpm_2_0: u('virsh domcapabilities', pending),
      sev: u('virsh domcapabilities', pending),
      iommu: u(CAPABILITIES_SOURCE, pending),
      iommu_groups: u(CAPABILITIES_SOURCE, pending),
    },
    storage: {
      image_formats: u('virsh pool-capabilities', pending),
      pool_types: u('virsh pool-capabilities', pending),
      disk_buses: u('virsh domcapabilities', pending),
      encryption: u('virsh pool-capabilities', pending),
      io_throttling: u('libvirt'),
      disk_total_gb: u('virsh pool-list', pending),
    },
    network: {
      interfaces: u('virsh iface-list', pending),
      bridges: u('virsh iface-dumpxml', pending),
      nic_models: u('virsh domcapabilities', "libvirt's domain capabilities do not list NIC models"),
      virtio_net: u('virsh domcapabilities', "libvirt's domain capabilities do not list NIC models"),
      vlan: u('libvirt'),
      sriov: u('virsh nodedev-dumpxml', pending),
    },
    virtualization: {
      hypervisor: u('virsh version', pending),
      hypervisor_version: u('virsh version', pending),
      domain_types: u(CAPABILITIES_SOURCE, pending),
      kvm: u(CAPABILITIES_SOURCE, pending),
      nested: u('libvirt', 'libvirt does not report nested virtualisation'),
      machine_types: u(CAPABILITIES_SOURCE, pending),
      guest_arches: u(CAPABILITIES_SOURCE, pending),
      max_vcpus: u('virsh domcapabilities', pending),
      max_memory_mb: u('virsh nodememstats', pending),
    },
  };
}
