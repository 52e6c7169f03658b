import type { Fact } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import type { PartialCapabilityData } from './partial';
import { factOr } from './partial';
import type { XmlNode } from './xml';
import { attr, child, childNames, children, parseXml, path, sortedUnique, text, toInt, toKiB } from './xml';

export const CAPABILITIES_SOURCE = 'virsh capabilities';

/** What `virsh capabilities` says, as facts, plus what the driver needs for its next probes. */
export interface ParsedCapabilities {
  data: PartialCapabilityData;
  /** The host's architecture, if reported. */
  hostArch: string | null;
  /**
   * CPU features as listed under `<host><cpu>`. When the CPU has a `<model>`, libvirt lists only the
   * features beyond that model's, so the list is not complete (`complete: false`).
   */
  listedFeatures: { names: string[]; complete: boolean } | null;
  /** Domain types and machine types (names and canonical names) offered for the host's own arch. */
  hostArchGuest: { domainTypes: string[]; machines: string[] } | null;
}

/** Parses `virsh capabilities` output. Throws only if the XML is malformed or not `<capabilities>`. */
export function parseCapabilities(xml: string, source = CAPABILITIES_SOURCE): ParsedCapabilities {
  const root = parseXml(xml, 'capabilities');
  const host = child(root, 'host');
  const cpu = child(host, 'cpu');
  const cells = children(path(host, 'topology', 'cells'), 'cell');
  const guests = children(root, 'guest');

  const arch = text(child(cpu, 'arch')) || null;
  const model = text(child(cpu, 'model')) || null;
  const vendor = text(child(cpu, 'vendor')) || null;
  const listedFeatures = cpu === undefined ? null : cpuFeatures(cpu, model !== null);
  const topo = hostTopology(host, cells, source);
  const pages = hugepages(cpu, cells, source);

  const iommuSupport = attr(child(host, 'iommu'), 'support');
  const iommu = iommuSupport === 'yes' ? true : iommuSupport === 'no' ? false : undefined;
  const secmodels = children(host, 'secmodel')
    .map((s) => text(child(s, 'model')))
    .filter((m) => m !== '');

  const guestArches = guests.map((g) => attr(child(g, 'arch'), 'name')).filter((a): a is string => !!a);
  const allDomainTypes = guests.flatMap((g) => domainTypesOf(child(g, 'arch')));
  const allMachines = guests.flatMap((g) => machinesOf(child(g, 'arch')));
  const hostArchGuests = guests.filter((g) => attr(child(g, 'arch'), 'name') === arch);
  const noGuests = 'virsh capabilities lists no <guest> (no hypervisor binary found by libvirt)';

  const flags = listedFeatures ? cpuFlags(listedFeatures.names, listedFeatures.complete, source) : undefined;
  const noCpu = 'virsh capabilities has no <host><cpu>';

  return {
    hostArch: arch,
    listedFeatures,
    hostArchGuest:
      arch && hostArchGuests.length
        ? {
            domainTypes: sortedUnique(hostArchGuests.flatMap((g) => domainTypesOf(child(g, 'arch')))),
            machines: sortedUnique(hostArchGuests.flatMap((g) => machinesOf(child(g, 'arch')))),
          }
        : null,
    data: {
      host: {
        arch: factOr(arch, source, 'virsh capabilities has no <host><cpu><arch>'),
        cpu_model: factOr(model, source, 'virsh capabilities has no <host><cpu><model>'),
        cpu_vendor: factOr(vendor, source, 'virsh capabilities has no <host><cpu><vendor>'),
        numa_nodes: factOr(
          toInt(attr(path(host, 'topology', 'cells'), 'num')) ?? (cells.length || undefined),
          source,
          'virsh capabilities has no <host><topology><cells>',
        ),
        ...topo,
      },
      cpu: {
        features: listedFeatures
          ? known(
              listedFeatures.names,
              listedFeatures.complete ? source : `${source} (listed beyond the CPU model)`,
            )
          : unknown(source, noCpu),
        vmx: flags?.vmx ?? unknown(source, noCpu),
        svm: flags?.svm ?? unknown(source, noCpu),
      },
      memory: pages,
      security: {
        security_models: secmodels.length
          ? known(sortedUnique(secmodels), source)
          : unknown(source, 'virsh capabilities has no <host><secmodel>'),
        iommu: factOr(iommu, source, 'virsh capabilities has no <host><iommu support>'),
        // libvirt says support='yes' exactly when /sys/kernel/iommu_groups has entries, so 'no' means none.
        iommu_groups:
          iommu === false
            ? known(0, `${source} (<iommu support='no'>: no IOMMU groups)`)
            : unknown(
                source,
                iommu
                  ? 'libvirt reports IOMMU support but not the number of IOMMU groups'
                  : 'virsh capabilities has no <host><iommu support>',
              ),
      },
      virtualization: {
        guest_arches: guestArches.length
          ? known(sortedUnique(guestArches), source)
          : unknown(source, noGuests),
        domain_types: allDomainTypes.length
          ? known(sortedUnique(allDomainTypes), source)
          : unknown(
              source,
              guests.length ? 'virsh capabilities lists no <domain type> for its guests' : noGuests,
            ),
        machine_types: allMachines.length
          ? known(sortedUnique(allMachines), source)
          : unknown(
              source,
              guests.length ? 'virsh capabilities lists no <machine> for its guests' : noGuests,
            ),
        // libvirt offers domain type kvm only when /dev/kvm is usable and QEMU reported KVM when probed.
        kvm: guests.length
          ? known(allDomainTypes.includes('kvm'), `${source} (<domain type='kvm'> offered)`)
          : unknown(source, noGuests),
      },
    },
  };
}

/** Feature names of the host CPU: `<feature name>` children and the old-style `<features><name/></features>`. */
function cpuFeatures(cpu: XmlNode, hasModel: boolean): { names: string[]; complete: boolean } {
  const named = children(cpu, 'feature')
    .filter((f) => attr(f, 'policy') !== 'disable' && attr(f, 'policy') !== 'forbid')
    .map((f) => attr(f, 'name'));
  const oldStyle = children(cpu, 'features').flatMap(childNames);
  const names = [...named, ...oldStyle].filter((n): n is string => !!n).map((n) => n.toLowerCase());
  return { names: sortedUnique(names), complete: !hasModel };
}

/**
 * vmx/svm from a CPU feature list: true when listed; false only when the list is complete (libvirt
 * lists a modelled CPU's features relative to the model, and some models include vmx or svm).
 */
export function cpuFlags(
  features: readonly string[],
  complete: boolean,
  source: string,
): { vmx: Fact<boolean>; svm: Fact<boolean> } {
  const flag = (name: string): Fact<boolean> =>
    features.includes(name)
      ? known(true, source)
      : complete
        ? known(false, source)
        : unknown(
            source,
            `${name} is not listed, but the list leaves out the features of the host CPU model`,
          );
  return { vmx: flag('vmx'), svm: flag('svm') };
}

function domainTypesOf(arch: XmlNode | undefined): string[] {
  return children(arch, 'domain')
    .map((d) => attr(d, 'type'))
    .filter((t): t is string => !!t);
}

/** Machine names and canonical names, of the arch and of its `<domain>` elements. */
function machinesOf(arch: XmlNode | undefined): string[] {
  const machines = [
    ...children(arch, 'machine'),
    ...children(arch, 'domain').flatMap((d) => children(d, 'machine')),
  ];
  return machines.flatMap((m) => [text(m), attr(m, 'canonical') ?? '']).filter((n) => n !== '');
}

/**
 * Sockets, cores per socket, threads per core and logical CPUs. Counted from the cells' `<cpu id
 * socket_id die_id core_id>` when libvirt gives them (exact, whatever the NUMA layout); otherwise from
 * `<host><cpu><topology>`, whose `sockets` libvirt gives per NUMA node.
 */
function hostTopology(
  host: XmlNode | undefined,
  cells: XmlNode[],
  source: string,
): {
  sockets: Fact<number>;
  cores_per_socket: Fact<number>;
  threads_per_core: Fact<number>;
  logical_cpus: Fact<number>;
} {
  const cpus = cells.flatMap((c) => children(child(c, 'cpus'), 'cpu'));
  const ids = new Set(cpus.map((c) => attr(c, 'id')).filter((id): id is string => id !== undefined));
  const withIds =
    cpus.length > 0 &&
    cpus.every((c) => attr(c, 'socket_id') !== undefined && attr(c, 'core_id') !== undefined);
  const topology = path(host, 'cpu', 'topology');
  const tSockets = toInt(attr(topology, 'sockets'));
  const tDies = toInt(attr(topology, 'dies')) ?? 1;
  const tCores = toInt(attr(topology, 'cores'));
  const tThreads = toInt(attr(topology, 'threads'));
  const nodes = cells.length || 1;

  const logical: Fact<number> = ids.size
    ? known(ids.size, `${source} (<cpu id> in the NUMA cells)`)
    : tSockets && tCores && tThreads
      ? known(
          tSockets * tDies * tCores * tThreads * nodes,
          `${source} (<host><cpu><topology> × ${nodes} NUMA cell(s))`,
        )
      : unknown(
          source,
          'virsh capabilities lists no CPUs in its NUMA cells and has no <host><cpu><topology>',
        );

  if (withIds) {
    const sockets = new Set(cpus.map((c) => attr(c, 'socket_id'))).size;
    const cores = new Set(
      cpus.map((c) => `${attr(c, 'socket_id')}/${attr(c, 'die_id') ?? 0}/${attr(c, 'core_id')}`),
    ).size;
    const src = `${source} (<cpu socket_id core_id> in the NUMA cells)`;
    return {
      sockets: known(sockets, src),
      cores_per_socket: known(Math.round(cores / sockets), src),
      threads_per_core: known(Math.round(ids.size / cores), src),
      logical_cpus: logical,
    };
  }
  const noTopology =
    'virsh capabilities has no <host><cpu><topology> and no socket/core ids in its NUMA cells';
  return {
    sockets: tSockets
      ? known(tSockets * nodes, `${source} (<host><cpu><topology sockets> per NUMA cell × ${nodes})`)
      : unknown(source, noTopology),
    cores_per_socket: tCores
      ? known(tCores * tDies, `${source} (<host><cpu><topology>)`)
      : unknown(source, noTopology),
    threads_per_core: tThreads
      ? known(tThreads, `${source} (<host><cpu><topology>)`)
      : unknown(source, noTopology),
    logical_cpus: logical,
  };
}

/**
 * Hugepage sizes from `<host><cpu><pages>` (without the smallest, the base page size) and the pages of
 * each hugepage size reserved in all NUMA cells together.
 */
function hugepages(
  cpu: XmlNode | undefined,
  cells: XmlNode[],
  source: string,
): { hugepage_sizes_kb: Fact<number[]>; hugepages_total: Fact<Record<string, number>> } {
  const sizeOf = (p: XmlNode) => {
    const size = toInt(attr(p, 'size'));
    return size === undefined ? undefined : toKiB(size, attr(p, 'unit'));
  };
  const sizes = [
    ...new Set(
      children(cpu, 'pages')
        .map(sizeOf)
        .filter((s): s is number => s !== undefined),
    ),
  ].sort((a, b) => a - b);
  if (!sizes.length) {
    const reason = 'virsh capabilities has no <host><cpu><pages>';
    return { hugepage_sizes_kb: unknown(source, reason), hugepages_total: unknown(source, reason) };
  }
  const huge = sizes.slice(1);
  const cellPages = cells.flatMap((c) => children(c, 'pages'));
  let totals: Fact<Record<string, number>>;
  if (!cellPages.length) {
    totals = unknown(source, 'virsh capabilities has no <pages> in its NUMA cells');
  } else {
    const sum: Record<string, number> = {};
    for (const size of huge) sum[String(size)] = 0;
    for (const p of cellPages) {
      const size = sizeOf(p);
      const count = toInt(text(p));
      if (size !== undefined && count !== undefined && huge.includes(size)) sum[String(size)] += count;
    }
    totals = known(sum, `${source} (<pages> of all NUMA cells)`);
  }
  return {
    hugepage_sizes_kb: known(huge, `${source} (<host><cpu><pages> but the base page size)`),
    hugepages_total: totals,
  };
}

/**
 * `virsh cpu-baseline --features` of the host CPU: every feature it has, the model's own included
 * (lower-cased, sorted; features with policy `disable`/`forbid` left out).
 */
export function parseBaselineFeatures(xml: string): string[] {
  const cpu = parseXml(xml, 'cpu');
  if (!text(child(cpu, 'model'))) throw new Error('cpu-baseline gave no <model>');
  return cpuFeatures(cpu, true).names;
}
