import type { Fact } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import type { PartialCapabilityData } from './partial';
import { factOr } from './partial';
import type { XmlNode } from './xml';
import { attr, child, children, enumOf, enumValues, parseXml, sortedUnique, text, toInt } from './xml';

/** The facts one `virsh domcapabilities` answer (one virt type, one machine type) gives. */
export interface DomainCapabilityFacts {
  max_vcpus: Fact<number>;
  uefi: Fact<boolean>;
  secure_boot: Fact<boolean>;
  host_passthrough: Fact<boolean>;
  host_model: Fact<string>;
  models: Fact<string[]>;
  disk_buses: Fact<string[]>;
  tpm_models: Fact<string[]>;
  tpm_backends: Fact<string[]>;
  tpm_2_0: Fact<boolean>;
  sev: Fact<boolean>;
  balloon: Fact<boolean>;
}

const yesNo = (value: string | undefined): boolean | undefined =>
  value === 'yes' ? true : value === 'no' ? false : undefined;

/**
 * Parses `virsh domcapabilities` output. Only the elements libvirt documents count: "efi", "tpm" or
 * "sev" anywhere else in the text (a model name, a path, a comment) sets nothing.
 */
export function parseDomainCapabilities(xml: string, source: string): DomainCapabilityFacts {
  const root = parseXml(xml, 'domainCapabilities');
  const devices = child(root, 'devices');
  return {
    max_vcpus: factOr(toInt(attr(child(root, 'vcpu'), 'max')), source, 'no <vcpu max> in domcapabilities'),
    ...firmware(child(root, 'os'), source),
    ...cpuModes(child(root, 'cpu'), source),
    disk_buses: diskBuses(child(devices, 'disk'), source),
    ...tpm(child(devices, 'tpm'), source),
    sev: sev(child(root, 'features'), source),
    balloon: balloon(child(devices, 'memballoon'), source),
  };
}

/**
 * UEFI: `<os><enum name='firmware'>` lists `efi`, or `<os><loader>` lists firmware images (libvirt lists
 * only UEFI images there, and only those that exist). Known false when `<os>` says no, or when it has
 * a loader or firmware enum naming neither. Secure Boot: `<loader><enum name='secure'>` or
 * `<firmwareFeatures><enum name='secureBoot'>` contains `yes`, and UEFI is there.
 */
function firmware(
  os: XmlNode | undefined,
  source: string,
): { uefi: Fact<boolean>; secure_boot: Fact<boolean> } {
  if (os === undefined) {
    const reason = 'no <os> in domcapabilities';
    return { uefi: unknown(source, reason), secure_boot: unknown(source, reason) };
  }
  if (attr(os, 'supported') === 'no') {
    return { uefi: known(false, source), secure_boot: known(false, source) };
  }
  const loader = child(os, 'loader');
  const firmwareEnum = enumOf(os, 'firmware');
  const loaderImages = attr(loader, 'supported') === 'no' ? [] : enumValues(loader);
  let uefi: Fact<boolean>;
  if ((firmwareEnum && enumValues(firmwareEnum).includes('efi')) || loaderImages.length > 0) {
    uefi = known(true, source);
  } else if (firmwareEnum !== undefined || loader !== undefined) {
    uefi = known(false, source);
  } else {
    uefi = unknown(source, 'domcapabilities <os> has neither a firmware enum nor a <loader>');
  }

  const secureEnums = [enumOf(loader, 'secure'), enumOf(child(os, 'firmwareFeatures'), 'secureBoot')].filter(
    (e): e is XmlNode => e !== undefined,
  );
  let secure: Fact<boolean>;
  if (uefi.value === false) {
    secure = known(false, source);
  } else if (secureEnums.some((e) => enumValues(e).includes('yes'))) {
    secure = uefi.value === true ? known(true, source) : unknown(source, uefi.reason ?? 'UEFI unknown');
  } else if (secureEnums.length) {
    secure = known(false, source);
  } else {
    secure = unknown(source, "domcapabilities has no <loader><enum name='secure'>");
  }
  return { uefi, secure_boot: secure };
}

function cpuModes(
  cpu: XmlNode | undefined,
  source: string,
): { host_passthrough: Fact<boolean>; host_model: Fact<string>; models: Fact<string[]> } {
  const mode = (name: string) => children(cpu, 'mode').find((m) => attr(m, 'name') === name);
  const passthrough = mode('host-passthrough');
  const hostModel = mode('host-model');
  const custom = mode('custom');

  const hostModelName = attr(hostModel, 'supported') === 'yes' ? text(child(hostModel, 'model')) : '';
  let models: Fact<string[]>;
  if (custom === undefined) models = unknown(source, "no <cpu><mode name='custom'> in domcapabilities");
  else if (attr(custom, 'supported') !== 'yes') models = known([], source);
  else {
    models = known(
      sortedUnique(
        children(custom, 'model')
          .filter((m) => attr(m, 'usable') === 'yes')
          .map(text),
      ).filter((m) => m !== ''),
      `${source} (custom models usable='yes')`,
    );
  }
  return {
    host_passthrough: factOr(
      yesNo(attr(passthrough, 'supported')),
      source,
      "no <cpu><mode name='host-passthrough' supported> in domcapabilities",
    ),
    host_model: hostModelName
      ? known(hostModelName, source)
      : unknown(
          source,
          hostModel === undefined
            ? "no <cpu><mode name='host-model'> in domcapabilities"
            : "domcapabilities offers no host-model CPU (<mode name='host-model'> not supported or without <model>)",
        ),
    models,
  };
}

function diskBuses(disk: XmlNode | undefined, source: string): Fact<string[]> {
  if (disk === undefined) return unknown(source, 'no <devices><disk> in domcapabilities');
  if (attr(disk, 'supported') === 'no') return known([], source);
  const bus = enumOf(disk, 'bus');
  return bus ? known(sortedUnique(enumValues(bus)), source) : unknown(source, "no <disk><enum name='bus'>");
}

/**
 * TPM: models and backends from `<devices><tpm>`'s enums. TPM 2.0 needs a model and a backend whose
 * `backendVersion` enum lists 2.0; libvirt lists versions only for the emulator (swtpm) backend, so
 * without that enum (e.g. only `passthrough`, whose version is the host TPM's) it is unknown.
 */
function tpm(
  node: XmlNode | undefined,
  source: string,
): { tpm_models: Fact<string[]>; tpm_backends: Fact<string[]>; tpm_2_0: Fact<boolean> } {
  if (node === undefined) {
    const reason = 'no <devices><tpm> in domcapabilities';
    return {
      tpm_models: unknown(source, reason),
      tpm_backends: unknown(source, reason),
      tpm_2_0: unknown(source, reason),
    };
  }
  if (attr(node, 'supported') === 'no') {
    return { tpm_models: known([], source), tpm_backends: known([], source), tpm_2_0: known(false, source) };
  }
  const models = enumOf(node, 'model');
  const backends = enumOf(node, 'backendModel');
  const versions = enumOf(node, 'backendVersion');
  const modelList = models ? sortedUnique(enumValues(models)) : undefined;
  const backendList = backends ? sortedUnique(enumValues(backends)) : undefined;
  let v2: Fact<boolean>;
  if (modelList?.length === 0 || backendList?.length === 0) v2 = known(false, source);
  else if (versions !== undefined && !enumValues(versions).includes('2.0')) v2 = known(false, source);
  else if (versions !== undefined && modelList) v2 = known(true, source);
  else if (versions !== undefined) v2 = unknown(source, "no <tpm><enum name='model'> in domcapabilities");
  else {
    v2 = unknown(
      source,
      `domcapabilities lists no TPM backendVersion (backends: ${backendList?.join(', ') || 'none listed'}); ` +
        'libvirt lists versions only for the emulator backend',
    );
  }
  return {
    tpm_models: factOr(modelList, source, "no <tpm><enum name='model'> in domcapabilities"),
    tpm_backends: factOr(backendList, source, "no <tpm><enum name='backendModel'> in domcapabilities"),
    tpm_2_0: v2,
  };
}

/**
 * SEV from `<features><sev supported>`; without it, from `<features><launchSecurity><enum
 * name='sectype'>` (newer libvirt). Neither: unknown, never false.
 */
function sev(features: XmlNode | undefined, source: string): Fact<boolean> {
  const element = child(features, 'sev');
  if (element !== undefined) {
    return factOr(yesNo(attr(element, 'supported')), source, "<features><sev> without supported='yes|no'");
  }
  const sectype = enumOf(child(features, 'launchSecurity'), 'sectype');
  if (sectype !== undefined && attr(child(features, 'launchSecurity'), 'supported') !== 'no') {
    return known(enumValues(sectype).includes('sev'), `${source} (<launchSecurity> sectype)`);
  }
  if (attr(child(features, 'launchSecurity'), 'supported') === 'no')
    return known(false, `${source} (<launchSecurity>)`);
  return unknown(source, 'domcapabilities does not report <features><sev> (libvirt did not say)');
}

function balloon(node: XmlNode | undefined, source: string): Fact<boolean> {
  return factOr(
    yesNo(attr(node, 'supported')),
    source,
    "domcapabilities does not report a memballoon device (libvirt 9.0's has no <memballoon>)",
  );
}

/**
 * Merges the answers for several machine types of one host: lists are united, a boolean is true if any
 * answer says yes (false if any says no and none yes), numbers take the largest, strings the first known.
 */
export function mergeDomainCapabilities(
  answers: DomainCapabilityFacts[],
  source: string,
): DomainCapabilityFacts {
  const pick = <K extends keyof DomainCapabilityFacts>(key: K) => answers.map((a) => a[key]);
  const reasons = (facts: Fact<unknown>[]) =>
    sortedUnique(facts.map((f) => f.reason ?? ''))
      .filter(Boolean)
      .join('; ');
  const list = (facts: Fact<string[]>[]): Fact<string[]> => {
    const knownLists = facts.filter((f) => f.value !== null).map((f) => f.value as string[]);
    return knownLists.length
      ? known(sortedUnique(knownLists.flat()), source)
      : unknown(source, reasons(facts));
  };
  const bool = (facts: Fact<boolean>[]): Fact<boolean> =>
    facts.some((f) => f.value === true)
      ? known(true, source)
      : facts.some((f) => f.value === false)
        ? known(false, source)
        : unknown(source, reasons(facts));
  const max = (facts: Fact<number>[]): Fact<number> => {
    const values = facts.filter((f) => f.value !== null).map((f) => f.value as number);
    return values.length ? known(Math.max(...values), source) : unknown(source, reasons(facts));
  };
  const first = (facts: Fact<string>[]): Fact<string> => {
    const found = facts.find((f) => f.value !== null);
    return found ? known(found.value as string, source) : unknown(source, reasons(facts));
  };
  return {
    max_vcpus: max(pick('max_vcpus')),
    uefi: bool(pick('uefi')),
    secure_boot: bool(pick('secure_boot')),
    host_passthrough: bool(pick('host_passthrough')),
    host_model: first(pick('host_model')),
    models: list(pick('models')),
    disk_buses: list(pick('disk_buses')),
    tpm_models: list(pick('tpm_models')),
    tpm_backends: list(pick('tpm_backends')),
    tpm_2_0: bool(pick('tpm_2_0')),
    sev: bool(pick('sev')),
    balloon: bool(pick('balloon')),
  };
}

/** Places merged domain capability facts into their categories. */
export function domainCapabilityData(facts: DomainCapabilityFacts): PartialCapabilityData {
  return {
    cpu: { host_passthrough: facts.host_passthrough, host_model: facts.host_model, models: facts.models },
    memory: { balloon: facts.balloon },
    security: {
      uefi: facts.uefi,
      secure_boot: facts.secure_boot,
      tpm_models: facts.tpm_models,
      tpm_backends: facts.tpm_backends,
      tpm_2_0: facts.tpm_2_0,
      sev: facts.sev,
    },
    storage: { disk_buses: facts.disk_buses },
    virtualization: { max_vcpus: facts.max_vcpus },
  };
}
