import { DISK_NAME_PATTERN } from '@ferry/contracts';
import { defaultVsphereName } from './import-params';

describe('defaultVsphereName', () => {
  it("names a vSphere VM's disk <vm name>-disk<N>, as seed 002's failover looks for it", () => {
    expect(defaultVsphereName('web01', 1)).toBe('web01-disk1');
    expect(defaultVsphereName('DC0_H0_VM0', 2)).toBe('DC0_H0_VM0-disk2');
  });

  it('makes any VM name fit the disk name pattern', () => {
    for (const vm of ['web 01 (prod)', '  ', '-x', 'ü'.repeat(80), 'a'.repeat(80), '/etc/passwd']) {
      const name = defaultVsphereName(vm, 12);
      expect({ vm, ok: DISK_NAME_PATTERN.test(name) }).toEqual({ vm, ok: true });
      expect(name.endsWith('-disk12')).toBe(true);
    }
  });
});
