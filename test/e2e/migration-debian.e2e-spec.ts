import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationDto, MigrationPlanDto, MigrationReportDto, VmDto } from '@ferry/contracts';
import type { DebianGuest } from '@ferry/testing';
import {
  BOOT_OK_MARKER,
  FSTAB_OK_MARKER,
  VcsimProbe,
  VcsimProcess,
  attachRawAsDisk,
  buildDebianGuest,
  eventually,
  guestAddress,
  reconfigureVm,
  removeAllDisks,
  setNicMac,
} from '@ferry/testing';
import { credentialsOf, migrationSuite, waitForMigration } from '../support/migrations';
import type { Suite } from '../support/suite';

/**
 * The suite's one slow test: a real Debian 12 as vSphere leaves one (GRUB, systemd, open-vm-tools,
 * /data by a pvscsi by-path link, ens192 pinned to its VMware MAC) migrated through the gateway. Its
 * FIX runs Ferry's edits and then virt-v2v in place (about 4 minutes of it under TCG here); the
 * production VM boots with /data mounted and its NIC up.
 */
describe('migration of a real Debian guest: virt-v2v in place, then a boot on KVM', () => {
  let vcsim: VcsimProcess;
  let suite: Suite;
  let guest: DebianGuest;
  let moref: string;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migration-debian-'));

  beforeAll(async () => {
    vcsim = await VcsimProcess.start({ vms: 1, password: 'vc-Secr3t-9f' });
    moref = await new VcsimProbe(vcsim).moref('/DC0/vm/DC0_H0_VM0');
    guest = await buildDebianGuest(dir);
    await removeAllDisks(vcsim, moref);
    await attachRawAsDisk(vcsim, moref, guest.path, '[LocalDS_0] debian12/debian12.vmdk', dir);
    rmSync(join(dir, 'debian12-flat.vmdk'), { force: true });
    await setNicMac(vcsim, moref, guest.vmwareMac);
    // vcsim's VMs have 32 MB; the derived template takes the source's memory.
    await reconfigureVm(vcsim, moref, '<numCPUs>2</numCPUs><memoryMB>768</memoryMB>', 'sizing the VM');
    suite = await migrationSuite(vcsim);
  }, 900_000);

  afterAll(async () => {
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("converts it with virt-v2v after Ferry's fixes, validates it, cuts over: /data mounted, ens192 leased", async () => {
    const r = await suite.request<MigrationDto>('POST', '/api/v1/migrations', {
      body: {
        source: { VcenterCredentials: credentialsOf(vcsim), vmId: moref },
        mode: 'migrate',
        cutover: 'auto',
        validate: {
          boot_success: 'FERRY-FSTAB-OK',
          boot_failure: 'FERRY-(FSTAB|NET)-FAIL|Kernel panic|emergency mode',
          boot_timeout_s: 900,
          expect_ip: true,
        },
      },
    });
    expect(r.status).toBe(202);
    const m = await waitForMigration(suite, r.body.id, ['completed'], 2_400_000);

    const plan = (await suite.request<MigrationPlanDto>('GET', `/api/v1/migrations/${m.id}/plan`)).body;
    expect(plan.virt_v2v.applies).toBe(true);
    expect(plan.guest).toMatchObject({ os_type: 'linux', distro: 'debian' });
    const fstab = plan.fixes.find((f) => f.name === 'by-path')!.edits.find((e) => e.path === '/etc/fstab')!;
    expect(fstab.diff).toContain(`-${guest.dataByPath}`);
    expect(fstab.diff).toContain(`+UUID=${guest.dataUuid}`);

    const report = (await suite.request<MigrationReportDto>('GET', `/api/v1/migrations/${m.id}/report`)).body;
    expect(report.fix!.virt_v2v.ran).toBe(true);
    expect(report.fix!.virt_v2v.detail).toMatch(/open-vm-tools/);
    expect(report.appliance_boots).toBe(3);
    expect(report.validation).toMatchObject({ passed: true });
    expect(report.cutover).toMatchObject({ passed: true });

    const vm = (await suite.request<VmDto>('GET', `/api/v1/vms/${m.production_vm_id}`)).body;
    // The lease (local_ip) comes before the guest's own line about it (after network-online).
    const console = await eventually(
      async () => {
        const text = (await suite.request<{ text: string }>('GET', `/api/v1/vms/${vm.id}/console`)).body.text;
        return guestAddress(text, guest.dhcpInterface) ? text : undefined;
      },
      120_000,
      'the guest printing its address',
    );
    expect(console).toContain(BOOT_OK_MARKER);
    expect(console).toContain(FSTAB_OK_MARKER);
    const printed = guestAddress(console, guest.dhcpInterface);
    expect(printed).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(vm.local_ip).toBe(printed);
  }, 2_700_000);
});
