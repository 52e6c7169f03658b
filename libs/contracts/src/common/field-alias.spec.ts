import { fieldAlias } from './field-alias';

describe('fieldAlias', () => {
  it('refuses, when the class is defined, a decorator put on a field it does not name', () => {
    const alias = fieldAlias('vmId', 'vm_id');
    expect(() => {
      class Misplaced {
        @alias.primary()
        vm_id?: string;
      }
      return Misplaced;
    }).toThrow('vm_id is not vmId');
    expect(() => {
      class Misplaced {
        @alias.alias()
        vmId?: string;
      }
      return Misplaced;
    }).toThrow('vmId is not vm_id');
  });
});
