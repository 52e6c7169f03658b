/**
 * The local driver's judgements that combine several observations into one fact (KVM, SEV, TPM 2.0,
 * UEFI). Pure, so that each rule is tested on its own; the driver gathers the observations.
 */
import type { Fact } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import type { QmpReply } from '@ferry/qemu';
import type { FirmwareDescriptor } from './qemu-parsers';

/**
 * A QEMU failure message made short and the same from run to run: no binary path prefix
 * (`/usr/bin/qemu-system-x86_64: `), no `error: ` tag, no pids, at most 160 characters.
 */
export function stableMessage(message: string): string {
  return message
    .replace(/^\S*qemu-system-[\w-]+:\s*/, '')
    .replace(/^error:\s*/i, '')
    .replace(/\b(pid|process) \d+/gi, '$1 N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
}

export const KVM_PROBE_SOURCE = '/dev/kvm + paused KVM guest probe';

export interface KvmObservations {
  /** /dev/kvm exists. */
  devKvm: boolean;
  /** QEMU answered `--version`, or why it did not run. */
  qemu: { ran: true } | { ran: false; reason: string };
  /** QMP `query-kvm` `present` (KVM compiled into this QEMU and /dev/kvm found); undefined if unknown. */
  qmpKvmPresent?: boolean;
  /** probeKvm's answer: undefined when a paused KVM guest started, else why not. */
  probeFailure?: string;
}

/**
 * KVM is usable (true) only if /dev/kvm exists and a paused KVM guest with `-cpu host` really starts:
 * under some nested hypervisors /dev/kvm opens but QEMU aborts at vCPU reset. A probe that fails is a
 * known "no" (these guests would not start); its first stderr line goes into the source, as a known
 * fact carries no reason. Unknown only when QEMU itself did not run, so nothing could be tried.
 */
export function decideKvm(o: KvmObservations): Fact<boolean> {
  if (!o.devKvm) return known(false, '/dev/kvm (absent)');
  if (!o.qemu.ran) return unknown(KVM_PROBE_SOURCE, `QEMU did not run: ${o.qemu.reason}`);
  if (o.qmpKvmPresent === false) return known(false, 'QMP query-kvm (KVM not present in QEMU)');
  if (o.probeFailure !== undefined) {
    return known(false, `${KVM_PROBE_SOURCE} (failed: ${stableMessage(o.probeFailure)})`);
  }
  return known(true, KVM_PROBE_SOURCE);
}

/** A QMP reply of one command, or why the session gave none. */
export type QmpAnswer = QmpReply | { missing: string };

export const SEV_SOURCE = 'QMP query-sev-capabilities';

/**
 * SEV is usable when `query-sev-capabilities` answers (it reads the platform's SEV capabilities
 * through KVM) and KVM runs guests here. Its GenericError (`SEV is not enabled in KVM`, `KVM not
 * enabled`, no /dev/sev) is a known "no"; CommandNotFound (a QEMU built without SEV) says nothing
 * about the host, so unknown.
 */
export function decideSev(answer: QmpAnswer, kvm: Fact<boolean>): Fact<boolean> {
  if ('missing' in answer) return unknown(SEV_SOURCE, answer.missing);
  if ('error' in answer) {
    if (answer.error.class === 'GenericError') return known(false, `${SEV_SOURCE}: ${answer.error.desc}`);
    return unknown(SEV_SOURCE, `${answer.error.class}: ${answer.error.desc}`);
  }
  if (kvm.value === null) return unknown(SEV_SOURCE, `SEV is reported but KVM is unknown: ${kvm.reason}`);
  return kvm.value ? known(true, SEV_SOURCE) : known(false, `${SEV_SOURCE} + KVM not usable`);
}

export interface TpmObservations {
  models: Fact<string[]>;
  backends: Fact<string[]>;
  /** `swtpm` (the emulator backend's TPM) is an executable in PATH. */
  swtpm: boolean;
  /** The host has a TPM 2.0 (/dev/tpmN whose /sys/class/tpm/tpmN/tpm_version_major is 2). */
  hostTpm2: boolean;
}

/**
 * A guest can get a TPM 2.0 when QEMU has a TPM model (tpm-crb/tpm-tis) and a backend that can give
 * 2.0: `emulator` with swtpm installed (swtpm emulates a 2.0 TPM), or `passthrough` of a host TPM 2.0.
 * QEMU always lists the emulator backend, so the backend alone is not enough: without swtpm nothing
 * can serve it. Unknown only when QMP did not tell the models or backends.
 */
export function decideTpm20(o: TpmObservations): Fact<boolean> {
  const source = 'QMP query-tpm-models + query-tpm-types';
  if (o.models.value === null) return unknown(source, o.models.reason ?? 'no TPM models');
  if (o.backends.value === null) return unknown(source, o.backends.reason ?? 'no TPM backends');
  if (o.models.value.length === 0) return known(false, `${source} (no TPM model)`);
  if (o.backends.value.includes('emulator') && o.swtpm) return known(true, `${source} (emulator) + swtpm`);
  if (o.backends.value.includes('passthrough') && o.hostTpm2) {
    return known(true, `${source} (passthrough) + /sys/class/tpm (TPM 2.0)`);
  }
  return known(false, `${source} + swtpm (not installed) + /sys/class/tpm (no TPM 2.0)`);
}

export interface FirmwareFile {
  /** The descriptor's path. */
  path: string;
  descriptor: FirmwareDescriptor;
}

/**
 * UEFI / Secure Boot from the firmware descriptors QEMU's packages install. A descriptor counts when
 * it targets the guest architecture and the image it names exists. With no descriptors at all nothing
 * can be said (OVMF may be installed without them), so both are unknown; with descriptors but none for
 * UEFI, both are a known "no".
 */
export function decideFirmware(
  files: readonly FirmwareFile[],
  dirs: readonly string[],
  guestArch: string,
  exists: (path: string) => boolean,
): { uefi: Fact<boolean>; secureBoot: Fact<boolean> } {
  const source = `firmware descriptors in ${dirs.join(', ')}`;
  if (files.length === 0) {
    const reason = `no firmware descriptors in ${dirs.join(' or ')}`;
    return { uefi: unknown(source, reason), secureBoot: unknown(source, reason) };
  }
  const uefi = files
    .map((f) => f.descriptor)
    .filter((d) => d.architectures.includes(guestArch) && d.executable !== undefined && exists(d.executable))
    .filter((d) => d.interfaceTypes.includes('uefi'));
  return {
    uefi: known(uefi.length > 0, source),
    secureBoot: known(
      uefi.some((d) => d.features.includes('secure-boot')),
      source,
    ),
  };
}
