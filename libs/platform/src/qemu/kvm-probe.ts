import { execFile } from 'node:child_process';

/**
 * Whether KVM really runs guests with this QEMU: starts a paused q35 KVM guest with `-cpu host` and
 * quits it over QMP on stdio. Resolves undefined when it worked, else why not (QEMU's first stderr
 * line). An openable /dev/kvm is not enough: under some nested hypervisors QEMU aborts at vCPU reset
 * ("failed to set MSR 0x10a"), and every KVM guest would fail to start.
 */
export function probeKvm(qemuBinary: string, timeoutMs: number): Promise<string | undefined> {
  const args = ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-S', '-nodefaults', '-no-user-config'];
  args.push('-display', 'none', '-m', '16M', '-qmp', 'stdio');
  return new Promise((resolve) => {
    const child = execFile(qemuBinary, args, { timeout: timeoutMs }, (err, _out, stderr) =>
      resolve(err ? stderr.trim().split('\n')[0] || err.message : undefined),
    );
    // A QEMU that exits before reading its input (an abort, a missing binary) fails the write with
    // EPIPE: an unhandled 'error' event would crash the process. The callback above reports the exit.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n');
  });
}
