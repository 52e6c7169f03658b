import { loadConfig } from '@ferry/platform';
import { VmOperatorConfig } from '../config/vm-operator.config';
import { storageDirsProblem } from './image-paths';

describe('VM_STORAGE_DIRS', () => {
  it('defaults to where volume-daemon keeps disks', () => {
    expect(loadConfig(VmOperatorConfig, {}).VM_STORAGE_DIRS).toBe('/var/lib/ferry/disks');
  });

  it('takes comma-separated absolute paths', () => {
    expect(storageDirsProblem('/var/lib/ferry/disks')).toBeUndefined();
    expect(storageDirsProblem('/srv/a,/srv/b with space')).toBeUndefined();
  });

  it('refuses relative or empty entries, and any that is "/"', () => {
    expect(storageDirsProblem('disks')).toMatch(/absolute/);
    expect(storageDirsProblem('/srv/a,')).toMatch(/absolute/);
    expect(storageDirsProblem('/srv/a,/')).toMatch(/"\/"/);
    expect(storageDirsProblem('/srv/..')).toMatch(/"\/"/);
    expect(() => loadConfig(VmOperatorConfig, { VM_STORAGE_DIRS: '/srv/a,//' })).toThrow(
      /VM_STORAGE_DIRS.*"\/"/,
    );
  });
});
