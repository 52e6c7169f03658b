import { describe, expect, it } from 'vitest';
import { parseVmIds } from './inspection-model';
import { actionsFor, disksByVm } from './VmsView';
import { VIEWS, viewOf } from './routes';

describe('navigation and VM actions', () => {
  it('opens the view the hash names, and the first view for anything else', () => {
    expect(viewOf('#/failover').path).toBe('failover');
    expect(viewOf('#/failover?job=1').path).toBe('failover');
    expect(viewOf('').path).toBe(VIEWS[0]!.path);
    expect(viewOf('#/nope').path).toBe(VIEWS[0]!.path);
  });

  it('offers a VM only the actions its state takes', () => {
    expect(actionsFor('running')).toEqual(['stop', 'restart']);
    expect(actionsFor('stopped')).toEqual(['start']);
    expect(actionsFor('error')).toEqual(['start']);
    expect(actionsFor('starting')).toEqual([]);
  });

  it('reads the VM ids a user typed, in order, once each', () => {
    expect(parseVmIds(' vm-1, vm-2\nvm-3 vm-1,,')).toEqual(['vm-1', 'vm-2', 'vm-3']);
    expect(parseVmIds('  ')).toEqual([]);
  });

  it('lists each VM’s disks by name', () => {
    const byVm = disksByVm([
      { name: 'a', vm_id: 'vm1' },
      { name: 'b', vm_id: null },
      { name: 'c', vm_id: 'vm1' },
      { name: 'd', vm_id: 'vm2' },
    ]);
    expect([...byVm.entries()]).toEqual([
      ['vm1', ['a', 'c']],
      ['vm2', ['d']],
    ]);
  });
});
