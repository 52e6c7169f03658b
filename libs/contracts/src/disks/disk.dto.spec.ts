import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AttachDiskBody, AttachDiskRequest, CreateDiskRequest, attachDiskRequestOf } from './disk.dto';

type Dto = ClassConstructor<object>;

/** Each field a body fails on, with its messages, as the validation pipe (gateway and NATS) sees it. */
function invalid(dto: Dto, body: object): Record<string, string[]> {
  const errors = validateSync(plainToInstance(dto, body), { whitelist: true, forbidNonWhitelisted: true });
  return Object.fromEntries(errors.map((e) => [e.property, Object.values(e.constraints ?? {})]));
}
const fields = (dto: Dto, body: object) => Object.keys(invalid(dto, body)).sort();

const VM = '6f1c2e4a-0b7d-4e6f-8a1b-3f2a9c1e0b7d';
const OTHER_VM = '0b7d4e6f-8a1b-4f2a-9c1e-6f1c2e4a3f2a';

describe('CreateDiskRequest', () => {
  it("takes seed 004's body without a name, and keeps every rule for a name that is given", () => {
    expect(fields(CreateDiskRequest, { size: 1 })).toEqual([]);
    expect(fields(CreateDiskRequest, { size: 1, format: 'raw' })).toEqual([]);
    expect(fields(CreateDiskRequest, { name: 'data-1', size: 1 })).toEqual([]);
    for (const name of ['../etc/passwd', 'a/b', '', '-x', 'x'.repeat(64), null, 7])
      expect({ name, fields: fields(CreateDiskRequest, { name, size: 1 }) }).toEqual({
        name,
        fields: ['name'],
      });
    expect(fields(CreateDiskRequest, {})).toEqual(['size']);
  });
});

describe('AttachDiskBody', () => {
  it("takes the VM under seed 004's vm_id or Ferry's vmId, or both when equal, beside the fencing", () => {
    expect(fields(AttachDiskBody, { vm_id: VM })).toEqual([]);
    expect(fields(AttachDiskBody, { vmId: VM })).toEqual([]);
    expect(fields(AttachDiskBody, { vm_id: VM, vmId: VM, expectedGeneration: 2 })).toEqual([]);
    expect(fields(AttachDiskBody, { vm_id: VM, expectedGeneration: -1 })).toEqual(['expectedGeneration']);
  });

  it('requires one of them, naming both, and refuses two that differ or a bad id under either', () => {
    expect(invalid(AttachDiskBody, {})['vmId']?.[0]).toBe('vmId or vm_id is required');
    expect(fields(AttachDiskBody, { expectedGeneration: 1 })).toEqual(['vmId']);
    expect(invalid(AttachDiskBody, { vmId: VM, vm_id: OTHER_VM })).toEqual({
      vm_id: ['vm_id must equal vmId when both are given'],
    });
    expect(invalid(AttachDiskBody, { vm_id: 'a/b' })).toEqual({
      vm_id: ['vm_id must be 1-128 characters without control characters or slashes'],
    });
    expect(fields(AttachDiskBody, { vm_id: null })).toEqual(['vm_id']);
    expect(fields(AttachDiskBody, { vmId: null, vm_id: VM })).toEqual(['vmId', 'vm_id']);
  });
});

describe('attachDiskRequestOf', () => {
  it("gives volume-daemon the unchanged request: the VM under its one name, vmId, and the caller's fencing", () => {
    const fromSeed = attachDiskRequestOf('disk-1', { vm_id: VM }, 3);
    expect(fromSeed).toEqual({ id: 'disk-1', vmId: VM, expectedGeneration: 3 });
    expect(fields(AttachDiskRequest, fromSeed)).toEqual([]);
    expect(attachDiskRequestOf('disk-1', { vmId: VM }, undefined)).toEqual({
      id: 'disk-1',
      vmId: VM,
      expectedGeneration: undefined,
    });
    expect(() => attachDiskRequestOf('disk-1', {}, undefined)).toThrow('no vmId');
    // The NATS request itself still takes vmId only.
    expect(fields(AttachDiskRequest, { id: 'disk-1', vm_id: VM })).toEqual(['vmId', 'vm_id']);
  });
});
