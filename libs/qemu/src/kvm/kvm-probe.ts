import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, runCommand } from '@ferry/platform';
import { runQmpStdio } from '../qmp/qmp-stdio';

/** What the boot sector prints on COM1 once it has run. */
export const KVM_PROBE_MARKER = 'FERRY-KVM-OK';

/**
 * A 512-byte boot sector (assembled from the source below, kept here as bytes so the probe needs no
 * assembler): from the BIOS it enters protected mode and back ("unreal mode", as boot loaders such as
 * syslinux do), writes and reads a dword above 1 MiB through a 32-bit address, prints
 * `FERRY-KVM-OK` on COM1 and triple-faults, which ends QEMU under `-no-reboot`.
 *
 *   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00; lgdt [gdtr]; cr0 |= 1; jmp $+2
 *   mov bx,8; mov ds,bx; cr0 &= ~1; jmp $+2; xor ax,ax; mov es,ax; mov edi,0x100000
 *   a32 mov dword [edi],0x4b4f; a32 mov ecx,[edi]; print msg on 0x3f8; lidt [zero]; int3
 *   gdt: null, flat 4 GiB data; msg: "FERRY-KVM-OK\n"
 */
const BOOT_SECTOR_CODE =
  'fa31c08ed88ed0bc007c0f01165f7c0f20c00c010f22c0eb00bb08008edb24fe0f22c0eb0031c08ec066bf00001000' +
  '6766c7074f4b000067668b0fbaf803be6b7cac84c07403eeebf80f011e657ccc0000000000000000ffff00000092cf00' +
  '0f004f7c000000000000000046455252592d4b564d2d4f4b0a';

/** The probe's boot sector, for its test (under TCG it must print the marker). */
export function bootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from(BOOT_SECTOR_CODE, 'hex').copy(sector);
  sector.writeUInt16LE(0xaa55, 510);
  return sector;
}

/** How long the boot sector may take under KVM: a fraction of a second where KVM works. */
const BOOT_MS = 8_000;

/**
 * Whether KVM really runs guests with this QEMU. Two steps, each with a deadline:
 * 1. a paused q35 KVM guest with `-cpu host`, quit over QMP on stdio: under some nested hypervisors
 *    QEMU aborts at vCPU reset ("failed to set MSR 0x10a");
 * 2. the BIOS and a boot sector really run under KVM, to the sector's marker on the serial port:
 *    under others (PVM, `kvm_pvm`, on these CI machines) the paused guest starts, but firmware and
 *    real-mode code never get anywhere and QEMU hangs, which would hang every guest.
 * Resolves undefined when both worked, else why not; once per QEMU binary and process.
 */
export function probeKvm(qemuBinary: string, timeoutMs: number): Promise<string | undefined> {
  // The answer does not change while the host runs, and the boot step costs seconds where KVM fails.
  let answer = answers.get(qemuBinary);
  if (!answer) answers.set(qemuBinary, (answer = probe(qemuBinary, timeoutMs)));
  return answer;
}

const answers = new Map<string, Promise<string | undefined>>();

async function probe(qemuBinary: string, timeoutMs: number): Promise<string | undefined> {
  const args = ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-S', '-nodefaults', '-no-user-config'];
  args.push('-display', 'none', '-m', '16M');
  try {
    await runQmpStdio(qemuBinary, args, [], timeoutMs);
  } catch (err) {
    if (err instanceof CommandError) return err.lines[0] ?? err.message;
    return (err as Error).message;
  }
  return bootsUnderKvm(qemuBinary, Math.min(timeoutMs, BOOT_MS));
}

async function bootsUnderKvm(qemuBinary: string, timeoutMs: number): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-kvm-probe-'));
  try {
    const disk = join(dir, 'boot.raw');
    await writeFile(disk, bootSector());
    const args = ['-machine', 'pc,accel=kvm', '-cpu', 'host', '-nodefaults', '-no-user-config'];
    args.push('-display', 'none', '-m', '16M', '-serial', 'stdio', '-no-reboot');
    args.push('-drive', `file=${disk},format=raw,if=ide`);
    const out = await runCommand(qemuBinary, args, timeoutMs, undefined, { dieWithParent: true });
    return out.includes(KVM_PROBE_MARKER) ? undefined : 'a boot sector ran under KVM but printed nothing';
  } catch (err) {
    if (err instanceof CommandError && err.kind === 'timeout')
      return `a boot sector did not run under KVM within ${timeoutMs} ms (a hypervisor that cannot run firmware, such as PVM)`;
    if (err instanceof CommandError) return err.lines[0] ?? err.message;
    return (err as Error).message;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
