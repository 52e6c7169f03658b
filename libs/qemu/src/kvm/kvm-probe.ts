import { CommandError } from '@ferry/platform';
import { runQmpStdio } from '../qmp/qmp-stdio';

/**
 * Whether KVM really runs guests with this QEMU: starts a paused q35 KVM guest with `-cpu host` and
 * quits it over QMP on stdio. Resolves undefined when it worked, else why not (QEMU's first stderr
 * line). An openable /dev/kvm is not enough: under some nested hypervisors QEMU aborts at vCPU reset
 * ("failed to set MSR 0x10a"), and every KVM guest would fail to start.
 */
export async function probeKvm(qemuBinary: string, timeoutMs: number): Promise<string | undefined> {
  const args = ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-S', '-nodefaults', '-no-user-config'];
  args.push('-display', 'none', '-m', '16M');
  try {
    await runQmpStdio(qemuBinary, args, [], timeoutMs);
    return undefined;
  } catch (err) {
    if (err instanceof CommandError) return err.lines[0] ?? err.message;
    return (err as Error).message;
  }
}
