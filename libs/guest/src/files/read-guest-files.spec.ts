import { createHash } from 'node:crypto';
import { MemoryGuestfish } from '../testing/memory-guestfish';
import { readGuestFiles } from './read-guest-files';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('readGuestFiles', () => {
  it('reads the files the planner needs: absent ones recorded, globs expanded, probes fingerprinted only', async () => {
    const guest = new MemoryGuestfish({
      '/etc/fstab': 'UUID=x / ext4 defaults 0 1\n',
      '/etc/network/interfaces.d/ens192': 'iface ens192 inet dhcp\n',
      '/etc/NetworkManager/system-connections/Wired connection 1.nmconnection': '[connection]\n',
      '/etc/udev/rules.d/70-persistent-net.rules':
        'SUBSYSTEM=="net", ATTR{address}=="00:50:56:00:00:01", NAME="eth0"\n',
      '/etc/udev/rules.d/60-io.rules': 'ACTION=="add", SUBSYSTEM=="block", ATTR{queue/scheduler}="none"\n',
      '/usr/bin/vmtoolsd': '\x7fELF\x00\x01binary',
      '/etc/vmware-tools/tools.conf': '',
      '/var/lib/dpkg/info/open-vm-tools.list': '/usr/bin/vmtoolsd\n',
    });
    guest.link('/etc/systemd/system/vmtoolsd.service', '/dev/null');
    const files = await readGuestFiles(guest);
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect(byPath.get('/etc/fstab')).toEqual({
      path: '/etc/fstab',
      kind: 'file',
      content: 'UUID=x / ext4 defaults 0 1\n',
      sha256: sha('UUID=x / ext4 defaults 0 1\n'),
    });
    expect(byPath.get('/etc/crypttab')).toEqual({ path: '/etc/crypttab', content: null, sha256: null });
    expect(byPath.get('/etc/network/interfaces.d/ens192')?.content).toBe('iface ens192 inet dhcp\n');
    expect(
      byPath.get('/etc/NetworkManager/system-connections/Wired connection 1.nmconnection')?.content,
    ).toBe('[connection]\n');
    expect(byPath.has('/etc/udev/rules.d/70-persistent-net.rules')).toBe(true);
    expect(byPath.has('/etc/udev/rules.d/60-io.rules')).toBe(false); // names no MAC
    expect(byPath.get('/usr/bin/vmtoolsd')).toEqual({
      path: '/usr/bin/vmtoolsd',
      kind: 'file',
      content: null,
      sha256: sha(Buffer.from('\x7fELF\x00\x01binary')),
    });
    expect(byPath.get('/etc/vmware-tools')).toMatchObject({
      kind: 'directory',
      content: null,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(byPath.get('/etc/systemd/system/vmtoolsd.service')).toEqual({
      path: '/etc/systemd/system/vmtoolsd.service',
      kind: 'symlink',
      content: '/dev/null',
      sha256: sha('/dev/null'),
    });
    expect(byPath.get('/var/lib/dpkg/info/open-vm-tools.list')).toMatchObject({
      kind: 'file',
      content: null,
    });
    // Absent probes and glob matches are not listed; a file of the static list is, as absent.
    expect(byPath.has('/usr/sbin/vmtoolsd')).toBe(false);
    expect(byPath.has('/etc/default/grub')).toBe(true);
  });

  it('bounds each file and the whole set: the beginning of a large file, fingerprints only past the budget', async () => {
    const big = 'x'.repeat(300);
    const guest = new MemoryGuestfish({
      '/etc/fstab': big,
      '/etc/crypttab': 'y'.repeat(150),
      '/etc/default/grub': 'z'.repeat(10),
      '/etc/network/interfaces': 'text with a \x00 NUL\n',
    });
    const files = await readGuestFiles(guest, { maxFileBytes: 200, maxTotalBytes: 300 });
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect(byPath.get('/etc/fstab')).toEqual({
      path: '/etc/fstab',
      kind: 'file',
      content: 'x'.repeat(200),
      sha256: sha(big),
      truncated: true,
    });
    expect(byPath.get('/etc/crypttab')).toEqual({
      path: '/etc/crypttab',
      kind: 'file',
      content: 'y'.repeat(100),
      sha256: sha('y'.repeat(150)),
      truncated: true,
    });
    expect(byPath.get('/etc/default/grub')).toEqual({
      path: '/etc/default/grub',
      kind: 'file',
      content: null,
      sha256: sha('z'.repeat(10)),
      truncated: true,
    });
    expect(byPath.get('/etc/network/interfaces')).toMatchObject({
      kind: 'file',
      content: null,
      sha256: sha('text with a \x00 NUL\n'),
    });
    const text = files.reduce((n, f) => n + (f.kind === 'file' ? Buffer.byteLength(f.content ?? '') : 0), 0);
    expect(text).toBeLessThanOrEqual(300);
  });

  it('says which file it could not read', async () => {
    const guest = new MemoryGuestfish({ '/etc/fstab': 'a\n' });
    guest.failing.set('download', 'Input/output error');
    await expect(readGuestFiles(guest)).rejects.toThrow(
      'cannot read /etc/fstab: download: Input/output error',
    );
  });
});
