import type { GuestFacts, GuestFileDto, PlanVirtV2vDto } from '@ferry/contracts';

/** The Linux families virt-v2v 2.2's in-place conversion handles (convert/convert_linux.ml). */
const FAMILIES = [
  'debian',
  'ubuntu',
  'linuxmint',
  'kalilinux',
  'rhel',
  'centos',
  'fedora',
  'rocky',
  'almalinux',
  'oraclelinux',
  'scientificlinux',
  'sles',
  'suse-based',
  'opensuse',
  'altlinux',
];

const GRUB_CONFIGS = ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg', '/etc/default/grub'];

/**
 * Whether virt-v2v's in-place conversion runs on this guest, and why (not). It converts Linux guests
 * of the families it knows that boot with GRUB; a guest that boots another way (syslinux, as the tiny
 * test guest) is left to Ferry's own fixes, and the plan warns that its kernel must already carry
 * virtio drivers.
 */
export function virtV2vDecision(
  guest: GuestFacts | null,
  files: GuestFileDto[],
  requested: string[] | null,
): PlanVirtV2vDto {
  const no = (reason: string): PlanVirtV2vDto => ({ applies: false, reason });
  if (requested && !requested.includes('virt-v2v')) return no('not asked for (`fixes` leaves it out)');
  if (!guest) return no('no guest was found to convert');
  if (guest.osType !== 'linux')
    return no(`virt-v2v in place is used for Linux guests only (this one is ${guest.osType ?? 'unknown'})`);
  if (!guest.distro || !FAMILIES.includes(guest.distro))
    return no(`virt-v2v does not know the distribution "${guest.distro ?? 'unknown'}"`);
  if (guest.packageFormat !== 'deb' && guest.packageFormat !== 'rpm')
    return no('the guest has no deb or rpm package database for virt-v2v to work with');
  const grub = files.find((f) => GRUB_CONFIGS.includes(f.path) && f.content !== null);
  if (!grub)
    return no(
      `no GRUB configuration (${GRUB_CONFIGS.join(', ')}): virt-v2v converts GRUB guests only, and this one boots another way`,
    );
  return {
    applies: true,
    reason:
      `${guest.distro} ${guest.majorVersion ?? ''} with GRUB (${grub.path}): virt-v2v installs virtio drivers in the initramfs, fixes the bootloader and device names, removes VMware tools`.replace(
        '  ',
        ' ',
      ),
  };
}
