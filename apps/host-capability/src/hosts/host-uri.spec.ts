import { FerryError } from '@ferry/contracts';
import { parseHostUri } from './host-uri';

function refusal(uri: string, allowTest = false): FerryError {
  try {
    parseHostUri(uri, { allowTest });
  } catch (err) {
    return err as FerryError;
  }
  throw new Error(`${JSON.stringify(uri)} was accepted`);
}

describe('parseHostUri', () => {
  it.each([
    ['local', 'local'],
    ['qemu:///system', 'libvirt'],
    ['qemu:///session', 'libvirt'],
    ['qemu+unix:///system', 'libvirt'],
    ['qemu+ssh://root@kvm-01/system', 'libvirt'],
    [
      'qemu+ssh://kvm-01:2222/system?keyfile=/root/.ssh/id_ed25519&known_hosts=/etc/ferry/known_hosts',
      'libvirt',
    ],
    ['qemu+ssh://kvm-01/system?sshauth=agent,privkey&no_tty=1', 'libvirt'],
    ['qemu+tls://kvm-02/system?pkipath=/etc/pki/ferry', 'libvirt'],
    ['qemu+tls://kvm-02:16514/system?mode=direct', 'libvirt'],
  ])('accepts %s', (uri, driver) => {
    expect(parseHostUri(uri)).toEqual({ driver, uri });
  });

  it('accepts test:///default only where the setting allows it, and no other test URI', () => {
    expect(parseHostUri('test:///default', { allowTest: true })).toEqual({
      driver: 'libvirt',
      uri: 'test:///default',
    });
    expect(refusal('test:///default').message).toContain('HOST_CAPABILITY_ALLOW_TEST_URIS');
    expect(refusal('test:///etc/shadow', true).message).toContain('only as test:///default');
  });

  it.each([
    ['', 'local'],
    ['kvm-01', 'libvirt URI'],
    ['http://kvm-01/system', 'unknown libvirt driver'],
    ['lxc:///system', 'unknown libvirt driver'],
    ['qemu+telnet://kvm-01/system', 'transport "telnet"'],
    // ext runs the program named by ?command=; tcp carries everything in clear.
    ['qemu+ext:///system?command=/bin/sh', 'transport "ext"'],
    ['qemu+tcp://10.0.0.5:16509/system', 'transport "tcp"'],
    ['qemu+libssh2://kvm-01/system', 'transport "libssh2"'],
    ['qemu+ssh://kvm-01/system?command=/tmp/evil', 'parameter "command"'],
    ['qemu+ssh://kvm-01/system?netcat=/tmp/nc', 'parameter "netcat"'],
    ['qemu+ssh://kvm-01/system?socket=/run/other.sock', 'parameter "socket"'],
    ['qemu:///system?socket=/run/other.sock', 'parameter "socket"'],
    ['qemu+ssh://kvm-01/system?no_verify=1', 'parameter "no_verify"'],
    ['qemu+ssh://kvm-01/system?known_hosts_verify=ignore', 'parameter "known_hosts_verify"'],
    ['qemu+ssh://kvm-01/system?proxy=netcat', 'parameter "proxy"'],
    ['qemu+tls://kvm-02/system?keyfile=/root/.ssh/id', 'parameter "keyfile" is not allowed with tls'],
    ['qemu+ssh://kvm-01/system?keyfile=relative/key', 'parameter "keyfile" must be an absolute path'],
    ['qemu+ssh://kvm-01/system?keyfile=/a&keyfile=/b', 'given twice'],
    ['qemu+ssh://kvm-01/system?sshauth=password', 'parameter "sshauth" must be'],
    ['qemu+ssh:///system', 'needs a host'],
    ['qemu://kvm-01/system', 'names no host'],
    ['qemu:///', '/system or /session'],
    ['qemu:///elsewhere', '/system or /session'],
    ['qemu:///system#frag', 'fragment'],
    ['qemu+ssh://root:secret@kvm-01/system', 'password'],
    ['qemu:///sys\ntem', 'control'],
    ['qemu:///system\u0000', 'control'],
    ['qemu:system', 'form'],
  ])('refuses %j with a 400 that names the part', (uri, why) => {
    const error = refusal(uri, true);
    expect(error).toBeInstanceOf(FerryError);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain(why);
  });
});
