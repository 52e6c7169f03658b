import { validateSync } from 'class-validator';
import { CleanupTestFailoverRequest, DiskIdRequest } from '../disks/disk.dto';
import { FailoverJobIdRequest, TestFailoverBody } from '../failover/failover.dto';
import { HostIdRequest } from '../hosts/host.dto';
import { VmIdRequest } from '../vms/vm.dto';
import { IsResourceId, isUuid } from './resource-id';

class Holder {
  @IsResourceId()
  id!: unknown;
}

const valid = (id: unknown): boolean => validateSync(Object.assign(new Holder(), { id })).length === 0;

describe('resource ids', () => {
  it('accepts other systems’ ids, so that a lookup can answer NOT_FOUND', () => {
    for (const id of [
      'vm-12345678-test',
      'vol-87654321',
      'vm-oma-appliance',
      'vm-1001',
      'a',
      'x'.repeat(128),
    ])
      expect(valid(id)).toBe(true);
    expect(valid('3f2a9c1e-0b7d-4e6f-8a1b-2c3d4e5f6a7b')).toBe(true);
  });

  it('refuses ids that are unsafe to carry: control or format characters, slashes, over-long, not a string', () => {
    for (const id of ['', 'a/b', '..\\x', 'a\nb', 'nul\0', 'tab\t', 'bidi\u202e', 'x'.repeat(129), 7, null])
      expect(valid(id)).toBe(false);
    const [error] = validateSync(Object.assign(new Holder(), { id: 'a/b' }));
    expect(Object.values(error!.constraints!)).toEqual([
      'id must be 1-128 characters without control characters or slashes',
    ]);
  });

  it('is what every lookup DTO uses instead of a UUID check', () => {
    const seedIds = {
      test_vm_id: 'vm-12345678-test',
      volume_id: 'vol-87654321',
      oma_vm_id: 'vm-oma-appliance',
    };
    expect(validateSync(Object.assign(new CleanupTestFailoverRequest(), seedIds))).toEqual([]);
    for (const dto of [new VmIdRequest(), new DiskIdRequest(), new FailoverJobIdRequest()])
      expect(validateSync(Object.assign(dto, { id: 'vm-1001' }))).toEqual([]);
    expect(validateSync(Object.assign(new HostIdRequest(), { hostId: 'kvm-01' }))).toEqual([]);
    expect(validateSync(Object.assign(new TestFailoverBody(), { volumes: ['vol-87654321'] }))).toEqual([]);
    expect(validateSync(Object.assign(new VmIdRequest(), { id: 'a/b' }))).toHaveLength(1);
  });

  it('tells Ferry’s own ids apart, so that nothing else is queried', () => {
    expect(isUuid('3F2A9C1E-0B7D-4E6F-8A1B-2C3D4E5F6A7B')).toBe(true);
    expect(isUuid('vm-12345678-test')).toBe(false);
    expect(isUuid('3f2a9c1e0b7d4e6f8a1b2c3d4e5f6a7b')).toBe(false);
  });
});
