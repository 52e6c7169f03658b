import type { GuestFacts } from '@ferry/contracts';
import { gfQuote } from '../files/guestfish-paths';
import type { GuestfishRunner } from '../files/guestfish-paths';
import type { DeviceRef } from '../plan/by-path/device-resolver';
import { DeviceResolver, hazardOf, resolveRefs } from '../plan/by-path/device-resolver';
import type { SourceDiskRef } from '../plan/plan-input';

/** What mountGuest needs: the root; the rest is asked of libguestfs again when not given. */
export type MountFacts = Pick<GuestFacts, 'root'> &
  Partial<Pick<GuestFacts, 'mountpoints' | 'filesystems' | 'fstab'>>;

export interface MountGuestOptions {
  /** `mount-ro` (inspection, planning) or `mount` (a fix, in a read-write session). */
  readOnly: boolean;
  /** The source disks in appliance order: by-path mountpoints are then resolved as the by-path fix resolves them. */
  disks?: SourceDiskRef[];
}

export interface MountedGuest {
  mounted: { device: string; path: string }[];
  /** Mountpoints left unmounted, and why (an unresolvable spec, a mount error). */
  skipped: { device: string; path: string; why: string }[];
}

const SAFE_DEVICE = /^\/dev\/[\w/.:+-]+$/;
const SAFE_MOUNTPOINT = /^\/(?!.*(?:^|\/)\.\.(?:\/|$))[\w/.+@-]*$/;

function lines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function hash(out: string): [string, string][] {
  return lines(out).flatMap((l): [string, string][] => {
    const at = l.indexOf(': ');
    return at > 0 ? [[l.slice(0, at), l.slice(at + 2)]] : [];
  });
}

/**
 * Which mountpoints besides the root mountGuest mounts, parents first, and which it leaves out and
 * why (see mountGuest). Pure: the inspector uses it to mount what it could not resolve by itself.
 */
export function planMounts(
  facts: Required<MountFacts>,
  disks: SourceDiskRef[],
): { wanted: { device: string; path: string }[]; skipped: MountedGuest['skipped'] } {
  const known = new Set(facts.filesystems.map((f) => f.device));
  const swap = new Set(facts.filesystems.filter((f) => f.type === 'swap').map((f) => f.device));
  const { fstab } = facts;
  const planFacts = { ...facts, osType: 'linux', distro: null, packageFormat: null, vmwareTools: null };
  const hazards = fstab.filter((e) => hazardOf(e.spec));
  const refs: DeviceRef[] = hazards.map((e) => ({
    spec: e.spec,
    type: e.type,
    root: e.path === '/',
    exclusive: true,
  }));
  const { resolved } = resolveRefs(
    new DeviceResolver(planFacts, disks),
    planFacts,
    refs,
    fstab.filter((e) => !hazardOf(e.spec)).map((e) => e.spec),
    new Set(hazards.map((e) => e.path)),
  );
  const skipped: MountedGuest['skipped'] = [];
  const wanted = facts.mountpoints
    .filter((m) => m.path !== '/' && m.path.startsWith('/'))
    .flatMap((m) => {
      const r = known.has(m.device) ? null : resolved.get(m.device);
      const device = known.has(m.device) ? m.device : r?.ok ? r.fs.device : null;
      if (!device || !SAFE_DEVICE.test(device) || swap.has(device) || !SAFE_MOUNTPOINT.test(m.path)) {
        skipped.push({ ...m, why: r && !r.ok ? r.why : 'not a filesystem libguestfs can mount' });
        return [];
      }
      return [{ device, path: m.path }];
    })
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length);
  return { wanted, skipped };
}

/**
 * Mounts the guest's root and the mountpoints that can be resolved, as the inspector's deep
 * inspection does (apps/inspector guest-inspection `inspectRoot`): libguestfs's mountpoints whose
 * device is a filesystem it knows, shorter paths first (/boot before /boot/efi); a by-path or
 * by-id mountpoint only when the by-path fix's resolver resolves it (with `disks`, its certain rules;
 * always its fallback). Without `mountpoints`, libguestfs is asked again (`inspect-os` first,
 * which its inspection API requires); without `filesystems`, `list-filesystems`. Rejects when the root does not mount.
 * The caller unmounts (`umount-all`) before closing the session.
 */
export async function mountGuest(
  session: GuestfishRunner,
  facts: MountFacts,
  options: MountGuestOptions,
): Promise<MountedGuest> {
  if (!SAFE_DEVICE.test(facts.root)) throw new Error(`not a device: ${facts.root}`);
  let { mountpoints, filesystems } = facts;
  if (!mountpoints) {
    // libguestfs answers inspect-get-* only after inspect-os (seconds under TCG): asked only when needed.
    const [, mps] = await session.run(['inspect-os', `inspect-get-mountpoints ${facts.root}`]);
    mountpoints = hash(mps?.out ?? '').map(([path, device]) => ({ path, device }));
  }
  if (!filesystems) {
    const [fss] = await session.run(['list-filesystems']);
    filesystems = hash(fss?.out ?? '')
      .filter(([, type]) => type !== 'unknown')
      .map(([device, type]) => ({ device, type, uuid: null, label: null }));
  }
  const { wanted, skipped } = planMounts(
    { root: facts.root, mountpoints, filesystems, fstab: facts.fstab ?? [] },
    options.disks ?? [],
  );
  const verb = options.readOnly ? 'mount-ro' : 'mount';
  const [root] = await session.run([`${verb} ${facts.root} /`]);
  if (!root || root.errors.length)
    throw new Error(`cannot mount the root ${facts.root}: ${root?.errors.join('; ') ?? 'no answer'}`);
  const results = await session.run(wanted.map((m) => `${verb} ${m.device} ${gfQuote(m.path)}`));
  const mounted = [{ device: facts.root, path: '/' }];
  wanted.forEach((m, i) => {
    const errors = results[i]?.errors ?? [];
    if (errors.length) skipped.push({ ...m, why: errors.join('; ') });
    else mounted.push(m);
  });
  return { mounted, skipped };
}
