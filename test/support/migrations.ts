import { join } from 'node:path';
import type { HostDto, MigrationDto, MigrationStatus } from '@ferry/contracts';
import type { BootableGuest, VcsimProcess } from '@ferry/testing';
import {
  VcsimProbe,
  attachRawAsDisk,
  buildBootableGuest,
  eventually,
  removeAllDisks,
  setNicMac,
  vmNics,
} from '@ferry/testing';
import { Suite } from './suite';

/** A vcsim VM shaped as a migration's source: the tiny guest (with VMware traits) as its only disk. */
export interface MigrationSource {
  moref: string;
  /** The VM's name in vCenter (what volumes and the production VM are named after). */
  name: string;
  guest: BootableGuest;
  /** The VM's NIC's MAC in vCenter (what the migrated VM's NIC keeps). */
  mac: string;
}

/**
 * Gives vcsim's VM `name` the tiny bootable guest as its only disk (vcsim's own 0-byte disk is
 * removed; its file stays), and its NIC the MAC the guest's udev rule pins to ens192
 * (`00:50:56:a1:2b:3c`), as a real VM's own rule would.
 */
export async function migrationSource(
  vcsim: VcsimProcess,
  dir: string,
  name: string,
): Promise<MigrationSource> {
  const probe = new VcsimProbe(vcsim);
  const moref = await probe.moref(`/DC0/vm/${name}`);
  const guest = await buildBootableGuest(join(dir, name));
  await removeAllDisks(vcsim, moref);
  await attachRawAsDisk(vcsim, moref, guest.path, `[LocalDS_0] ${name}/boot.vmdk`, join(dir, name));
  await setNicMac(vcsim, moref, guest.vmwareMac!);
  const [nic] = await vmNics(vcsim, moref);
  if (nic?.mac?.toLowerCase() !== guest.vmwareMac)
    throw new Error(`vcsim kept ${name}'s NIC MAC ${nic?.mac}`);
  return { moref, name, guest, mac: guest.vmwareMac! };
}

export function credentialsOf(vcsim: VcsimProcess) {
  return { url: vcsim.url, username: vcsim.username, password: vcsim.password };
}

/** How the tests tell the tiny guest booted: its fstab marker, and no failure marker of its own. */
export const TINY_GUEST_VALIDATE = {
  boot_success: 'FERRY-FSTAB-OK',
  boot_failure: 'FERRY-(BOOT|FSTAB|NET)-FAIL',
  boot_timeout_s: 180,
};

/** Polls the migration until it is in one of `statuses`; fails at once when it ends otherwise. */
export async function waitForMigration(
  suite: Suite,
  id: string,
  statuses: MigrationStatus[],
  timeoutMs = 300_000,
): Promise<MigrationDto> {
  const ends: MigrationStatus[] = [
    'planned',
    'blocked',
    'completed',
    'failed',
    'canceled',
    'awaiting_cutover',
  ];
  const deadline = Date.now() + timeoutMs;
  let m: MigrationDto | undefined;
  while (Date.now() < deadline) {
    const res = await suite.request<MigrationDto>('GET', `/api/v1/migrations/${id}`);
    if (res.status === 200) {
      m = res.body;
      if (statuses.includes(m.status)) return m;
      if (ends.includes(m.status)) break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `migration ${id} is ${m?.status ?? 'unknown'}, not ${statuses.join('|')}: ${JSON.stringify(m?.error)}; stages ${JSON.stringify(m?.stages.map((s) => [s.name, s.state, s.detail, s.error]))}`,
  );
}

/** host-capability has discovered this machine: placement has a host to choose. */
export async function localHostReady(suite: Suite): Promise<HostDto> {
  return eventually(
    async () => {
      const hosts = (await suite.request<HostDto[]>('GET', '/api/v1/hosts')).body;
      return hosts.find((h) => h.driver === 'local' && h.status === 'ready' && !h.refreshing);
    },
    120_000,
    'the local host discovered',
  );
}

/**
 * A Ferry for migration tests: gateway and host-capability (placement), vm-operator under TCG, the
 * inspector trusting vcsim, volume-daemon and cleanup with the suite's appliance, a template `small`
 * and the appliance VM; ready once host-capability has discovered this machine.
 */
export async function migrationSuite(
  vcsim: VcsimProcess,
  env: { gateway?: Record<string, string>; cleanup?: Record<string, string> } = {},
): Promise<Suite> {
  const suite = await Suite.start(['gateway', 'host-capability'], env.gateway ?? {});
  try {
    await suite.startService('vm-operator', { VM_ACCELERATOR: 'tcg' });
    await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
    await suite.startService('volume-daemon', { VOLUME_APPLIANCE_VM: Suite.APPLIANCE });
    await suite.startService('cleanup', env.cleanup ?? {});
    await suite.request('POST', '/api/v1/templates', {
      body: { name: 'small', cpu_count: 1, ram_amount: 256 },
    });
    await suite.createVm('small', 'stopped', Suite.APPLIANCE, []);
    await localHostReady(suite);
    return suite;
  } catch (err) {
    await suite.dispose();
    throw err;
  }
}
