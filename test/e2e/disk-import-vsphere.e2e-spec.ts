import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskDto, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { INSPECTOR_EXPORT_SNAPSHOT_NAME } from '@ferry/contracts';
import { compareImages } from '@ferry/qemu';
import type { VcsimDisk } from '@ferry/testing';
import {
  BOOT_OK_MARKER,
  VcsimProbe,
  VcsimProcess,
  attachRawAsDisk,
  buildBootableGuest,
  diskKeys,
  eventually,
  vcsimFileUrl,
  vcsimHttp,
} from '@ferry/testing';
import { Suite } from '../support/suite';

interface ImportParamsView {
  source: { type: string; exportId: string; diskIndex: number; vmName: string };
}

const MiB = 1024 * 1024;
const QEMU_IMG = { qemuImg: 'qemu-img', timeoutMs: 60_000 };

/**
 * Seed 001's FETCH → FLATTEN → CONVERT of a running vSphere VM's disks, through the gateway, from
 * vcsim's datastore file service, under the inspector's snapshot; then the bootable one boots.
 */
describe('disk import from vSphere (vcsim) through the gateway', () => {
  let vcsim: VcsimProcess;
  let probe: VcsimProbe;
  let suite: Suite;
  let moref: string;
  let appliance: VmDto;
  const added: VcsimDisk[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ferry-vsphere-import-'));
  const VM = 'DC0_H0_VM0';
  const data = join(dir, 'data.raw');
  let guestRaw = '';

  beforeAll(async () => {
    vcsim = await VcsimProcess.start({ vms: 1 });
    probe = new VcsimProbe(vcsim);
    moref = await probe.moref(`/DC0/vm/${VM}`);
    // Two real disks on the (powered-on) VM: the bootable guest and a data disk with a pattern.
    guestRaw = (await buildBootableGuest(dir)).path;
    execFileSync('qemu-img', ['create', '-f', 'raw', data, '16M'], { stdio: 'ignore' });
    execFileSync('dd', ['if=/dev/urandom', `of=${data}`, 'bs=1M', 'count=4', 'seek=6', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    for (const [name, raw] of [
      ['boot', guestRaw],
      ['data', data],
    ] as const) {
      added.push(await attachRawAsDisk(vcsim, moref, raw, `[LocalDS_0] ferry-web01/${name}.vmdk`, dir));
    }
    suite = await Suite.start(['gateway']);
    // KVM passes vm-operator's probe on this machine's nested hypervisor, then stops inside syslinux
    // (libs/testing/README.md): the guest boots under TCG.
    await suite.startService('vm-operator', { VM_ACCELERATOR: 'tcg' });
    await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
    await suite.startService('volume-daemon', { VOLUME_APPLIANCE_VM: Suite.APPLIANCE });
    await suite.request('POST', '/api/v1/templates', {
      body: { name: 'small', cpu_count: 1, ram_amount: 256 },
    });
    appliance = await suite.createVm('small', 'stopped', Suite.APPLIANCE);
  }, 240_000);

  afterAll(async () => {
    await suite?.dispose();
    await vcsim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const credentials = () => ({ url: vcsim.url, username: vcsim.username, password: vcsim.password });
  /** Every file of the disks the test gave the VM is still on the datastore. */
  const expectFilesThere = async () => {
    const cookie = await probe.sessionCookie();
    for (const name of ['boot', 'data'])
      for (const file of [`${name}.vmdk`, `${name}-flat.vmdk`]) {
        const res = await vcsimHttp(vcsim, vcsimFileUrl(vcsim, `[LocalDS_0] ferry-web01/${file}`), {
          headers: { cookie, range: 'bytes=0-0' },
        });
        expect({ file, status: res.status }).toEqual({ file, status: 206 });
      }
  };

  it('imports both disks of the running VM onto the appliance as <vm>-disk<N>, under a snapshot it removes', async () => {
    const before = await diskKeys(vcsim, moref);
    // One after the other: vcsim (govmomi 0.24) deletes the file that a removed snapshot's stale
    // layout key names once keys shift, and with two snapshots of one VM removed in either order
    // that file can be the VM's own disk. vCenter keeps its snapshots' files apart.
    const done: VolumeOperationDto[] = [];
    for (const disk of added) {
      const r = await suite.request<VolumeOperationDto>('POST', '/api/v1/disks/import', {
        body: {
          source: { type: 'vsphere', VcenterCredentials: credentials(), vmId: moref, disk: String(disk.key) },
        },
      });
      // The body says why when it is not accepted.
      expect({ status: r.status, body: r.status === 202 ? 'accepted' : r.body }).toEqual({
        status: 202,
        body: 'accepted',
      });
      // No secret in what the operation records.
      expect(JSON.stringify(r.body)).not.toContain(vcsim.password);
      done.push(await suite.waitForOperation(r.body.id, 120_000));
    }
    expect(done.map((op) => [op.status, op.error])).toEqual(done.map(() => ['completed', null]));

    for (const [i, op] of done.entries()) {
      const params = op.params as unknown as ImportParamsView;
      const disk = (await suite.request<DiskDto>('GET', `/api/v1/disks/${op.disk_id}`)).body;
      expect(disk).toMatchObject({
        name: `${VM}-disk${params.source.diskIndex}`,
        state: 'in-use',
        vm_id: appliance.id,
      });
      expect(op.correlation?.vm_id).toBe(appliance.id);
      const source = i === 0 ? guestRaw : data;
      expect(
        await compareImages({ path: source, format: 'raw' }, { path: disk.path!, format: 'qcow2' }, QEMU_IMG),
      ).toEqual({
        identical: true,
      });
      // The snapshot was taken (recorded by the inspector) and is gone from vCenter.
      const [exp] = await suite.query<{ snapshot_name: string | null; state: string }>(
        'SELECT snapshot_name, state FROM inspector.exports WHERE id = $1',
        [params.source.exportId],
      );
      expect(exp).toEqual({ snapshot_name: INSPECTOR_EXPORT_SNAPSHOT_NAME, state: 'closed' });
    }
    expect(await probe.snapshotNames(moref)).toEqual([]);
    // The source VM is as it was: the same disks, with their files on the datastore.
    expect(await diskKeys(vcsim, moref)).toEqual(before);
    await expectFilesThere();
  });

  it('the imported boot disk, attached to a new VM, boots to FERRY-BOOT-OK on its serial console', async () => {
    const disks = (await suite.request<DiskDto[]>('GET', '/api/v1/disks')).body;
    const boot = disks.find((d) => d.size_bytes === 64 * MiB && d.vm_id === appliance.id);
    expect(boot).toBeDefined();
    const detach = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${boot!.id}/detach`, {
      body: {},
    });
    expect((await suite.waitForOperation(detach.body.id)).status).toBe('completed');
    const vm = await suite.createVm('small', 'stopped', 'web01-kvm');
    const attach = await suite.request<VolumeOperationDto>('POST', `/api/v1/disks/${boot!.id}/attach`, {
      body: { vm_id: vm.id },
    });
    expect((await suite.waitForOperation(attach.body.id)).status).toBe('completed');
    expect((await suite.request('POST', `/api/v1/vms/${vm.id}/actions/start`)).status).toBe(202);
    const console = await eventually(
      async () => {
        const r = await suite.request<{ text: string }>('GET', `/api/v1/vms/${vm.id}/console`);
        return r.body.text.includes(BOOT_OK_MARKER) ? r.body.text : undefined;
      },
      90_000,
      `${BOOT_OK_MARKER} on the console`,
    );
    expect(console).toContain(BOOT_OK_MARKER);
  });

  it('survives the inspector killed -9 mid-import: the import ends verified and the snapshot is removed', async () => {
    const before = await diskKeys(vcsim, moref);
    const r = await suite.request<VolumeOperationDto>('POST', '/api/v1/disks/import', {
      body: {
        source: {
          type: 'vsphere',
          VcenterCredentials: credentials(),
          vmId: moref,
          disk: String(added[1]!.key),
        },
        name: 'after-inspector-crash',
        attach_to: null,
      },
    });
    // The body says why when it is not accepted.
    expect({ status: r.status, body: r.status === 202 ? 'accepted' : r.body }).toEqual({
      status: 202,
      body: 'accepted',
    });
    // The export (and its snapshot) is open: the inspector dies holding it, and comes back.
    expect(await probe.snapshotNames(moref)).toEqual([INSPECTOR_EXPORT_SNAPSHOT_NAME]);
    await suite.processes.get('inspector')!.stop('SIGKILL');
    await suite.startService('inspector', { INSPECTOR_VSPHERE_CA_FILE: vcsim.caFile });
    const op = await suite.waitForOperation(r.body.id, 120_000);
    expect([op.status, op.error]).toEqual(['completed', null]);
    const disk = (await suite.request<DiskDto>('GET', `/api/v1/disks/${op.disk_id}`)).body;
    expect(
      await compareImages({ path: data, format: 'raw' }, { path: disk.path!, format: 'qcow2' }, QEMU_IMG),
    ).toEqual({
      identical: true,
    });
    await eventually(
      async () => ((await probe.snapshotNames(moref)).length === 0 ? true : undefined),
      30_000,
      'no snapshot',
    );
    expect(await diskKeys(vcsim, moref)).toEqual(before);
    await expectFilesThere();
  });

  it('refuses an unknown disk key with the keys the VM has, and takes no snapshot for it', async () => {
    const r = await suite.request<{ code: string; detail: string }>('POST', '/api/v1/disks/import', {
      body: { source: { type: 'vsphere', VcenterCredentials: credentials(), vmId: moref, disk: '999' } },
    });
    expect(r.status).toBe(404);
    expect(r.body.detail).toMatch(new RegExp(`no disk with key 999.*${added[0]!.key}`));
    expect(await probe.snapshotNames(moref)).toEqual([]);
    const wrong = await suite.request<{ code: string }>('POST', '/api/v1/disks/import', {
      body: {
        source: {
          type: 'vsphere',
          VcenterCredentials: { ...credentials(), password: 'nope' },
          vmId: moref,
          disk: '1',
        },
      },
    });
    expect(wrong.status).toBe(400);
  });
});
