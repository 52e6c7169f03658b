import type { FileEditDto } from '@ferry/contracts';
import { GuestFixConcernCodes } from '@ferry/contracts';
import {
  DISABLED_SUFFIX,
  DPKG_BINARIES,
  DPKG_INFO,
  SYSTEMD_UNIT_DIR,
  UBUNTU_SERVER_LIST,
  VMTOOLSD_PATHS,
  VMWARE_TOOLS_CONFIG_DIR,
  VMWARE_TOOLS_UNITS,
  VMWARE_UNINSTALLER,
} from '../files/guest-fix-files';
import type { FixerResult, GuestFileSet, GuestFixInput } from './plan-input';
import { emptyResult } from './plan-input';

const MASK_TARGET = '/dev/null';
/** open-vm-tools' packages in Debian and Ubuntu (what virt-v2v removes: `open-vm-tools` and `open-vm-tools-*`). */
const PACKAGE_LIST = new RegExp(`^${DPKG_INFO}/(open-vm-tools(?:-[a-z0-9.+-]+)?)(?::[a-z0-9]+)?\\.list$`);

/**
 * VMware tools removed, or disabled where no package manager can run. virt-v2v (convert_linux.ml,
 * `unconfigure_vmware`) removes open-vm-tools and open-vm-tools-* (`dpkg --purge`, `rpm -e`), the
 * vmware-tools-* and VMwareTools packages, and runs VMware's own uninstaller, except on Ubuntu with
 * ubuntu-server (which depends on open-vm-tools): when it runs, Ferry adds nothing it does.
 */
export function planVmwareToolsFix(input: GuestFixInput, files: GuestFileSet): FixerResult {
  const result = emptyResult();
  const { packageFormat } = input.facts;
  const packages = files.files
    .map((f) => (f.sha256 ? PACKAGE_LIST.exec(f.path) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, list: m[0] }));
  const daemons = VMTOOLSD_PATHS.filter((p) => files.get(p)?.kind === 'file');
  const configDir = files.get(VMWARE_TOOLS_CONFIG_DIR)?.kind === 'directory';
  const uninstaller = files.exists(VMWARE_UNINSTALLER);

  if (packages.length === 0 && daemons.length === 0 && !configDir && !uninstaller) {
    const disabled = VMTOOLSD_PATHS.some((p) => files.exists(p + DISABLED_SUFFIX));
    result.notes.push(
      disabled || input.facts.vmwareTools === null
        ? `no VMware tools are active in the guest${disabled ? ` (already disabled: ${DISABLED_SUFFIX})` : ''}`
        : `the inspection saw VMware tools (${input.facts.vmwareTools}), but none of the files Ferry disables is there`,
    );
    return result;
  }
  const names = packages.map((p) => p.name);
  if (packages.length && files.exists(UBUNTU_SERVER_LIST)) {
    result.notes.push(
      `${names.join(', ')} stay${names.length === 1 ? 's' : ''} installed: ubuntu-server depends on open-vm-tools ` +
        '(virt-v2v leaves it too); its units are masked instead, and open-vm-tools does not start off VMware anyway',
    );
    result.edits.push(...maskUnits(files));
    result.warnings.push({
      code: GuestFixConcernCodes.VMWARE_TOOLS_KEPT,
      severity: 'warning',
      message:
        'open-vm-tools stays installed because ubuntu-server depends on it; its systemd units are masked',
      subject: input.facts.root,
    });
    return result;
  }
  if (input.options.virtV2v && (packages.length || uninstaller || packageFormat === 'rpm')) {
    result.notes.push(
      `virt-v2v removes VMware tools itself (${
        packages.length
          ? `dpkg --purge ${names.join(' ')}`
          : uninstaller
            ? VMWARE_UNINSTALLER
            : 'rpm -e open-vm-tools*'
      }): Ferry adds nothing`,
    );
    return result;
  }
  const dpkg = DPKG_BINARIES.find((p) => files.exists(p));
  if (packages.length && packageFormat === 'deb' && dpkg) {
    // The main package's list goes with it: the command runs only while it is installed.
    const guard = packages.find((p) => p.name === 'open-vm-tools') ?? packages[0]!;
    const ordered = [...names].sort((a, b) => b.length - a.length); // the -desktop and other add-ons first
    const command = [dpkg, '--purge', ...ordered];
    result.edits.push({
      kind: 'command',
      path: guard.list,
      before_sha256: files.get(guard.list)?.sha256 ?? null,
      command,
      unless_absent: guard.list,
      diff: `run ${command.join(' ')} (only while ${guard.name} is installed: ${guard.list})`,
    });
    result.notes.push(
      `${names.join(', ')} purged with the guest's own dpkg, in the guest (libguestfs chroot)`,
    );
    return result;
  }

  // Nothing can remove them: they are disabled, and stay registered with the package manager.
  for (const daemon of daemons) result.edits.push(renameEdit(files, daemon));
  if (configDir) result.edits.push(renameEdit(files, VMWARE_TOOLS_CONFIG_DIR));
  result.edits.push(...maskUnits(files));
  const why =
    packageFormat === 'rpm'
      ? 'Ferry removes rpm packages only through virt-v2v'
      : !dpkg
        ? `no package manager can run in the guest: no ${DPKG_BINARIES.join(' or ')}`
        : `no package file list in ${DPKG_INFO} names them`;
  const renamed = [...daemons, ...(configDir ? [VMWARE_TOOLS_CONFIG_DIR] : [])];
  result.notes.push(
    `VMware tools are disabled, not removed (${why}): ${renamed.length ? `${renamed.join(', ')} renamed to *${DISABLED_SUFFIX}, ` : ''}` +
      `${VMWARE_TOOLS_UNITS.join(' and ')} masked`,
  );
  if (packageFormat === 'rpm' || packageFormat === 'deb')
    result.notes.push(
      `the package is still registered with ${packageFormat === 'rpm' ? 'rpm' : 'dpkg'}: remove it once the VM runs ` +
        `(${packageFormat === 'rpm' ? 'rpm -e open-vm-tools' : 'dpkg --purge open-vm-tools'})`,
    );
  return result;
}

function isMasked(files: GuestFileSet, unit: string): boolean {
  const f = files.get(`${SYSTEMD_UNIT_DIR}/${unit}`);
  return f?.kind === 'symlink' && f.content === MASK_TARGET;
}

function maskUnits(files: GuestFileSet): FileEditDto[] {
  return VMWARE_TOOLS_UNITS.filter((u) => !isMasked(files, u)).map((unit) => {
    const path = `${SYSTEMD_UNIT_DIR}/${unit}`;
    return {
      kind: 'symlink',
      path,
      before_sha256: files.get(path)?.sha256 ?? null,
      target: MASK_TARGET,
      diff: `mask ${unit}: ${path} -> ${MASK_TARGET}`,
    };
  });
}

function renameEdit(files: GuestFileSet, path: string): FileEditDto {
  const target = path + DISABLED_SUFFIX;
  return {
    kind: 'rename',
    path,
    before_sha256: files.get(path)?.sha256 ?? null,
    target,
    diff: `rename ${path} -> ${target}`,
  };
}
