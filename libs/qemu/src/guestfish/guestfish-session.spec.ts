import { guestfishDrive } from './guestfish-session';

describe('guestfishDrive', () => {
  it('keeps a file as it is', () => {
    expect(guestfishDrive('/var/lib/ferry/disks/a.qcow2')).toBe('/var/lib/ferry/disks/a.qcow2');
  });

  it("spells qemu's NBD URI over a unix socket the way guestfish takes it", () => {
    expect(guestfishDrive('nbd+unix:///?socket=/tmp/ferry-import-Ab1/image.sock')).toBe(
      'nbd://?socket=/tmp/ferry-import-Ab1/image.sock',
    );
    expect(guestfishDrive('nbd+unix:///disk?socket=/tmp/x/disk.sock')).toBe(
      'nbd:///disk?socket=/tmp/x/disk.sock',
    );
    expect(guestfishDrive('nbd://10.0.0.5:10809/disk')).toBe('nbd://10.0.0.5:10809/disk');
  });

  it('refuses what guestfish cannot open, or would parse differently', () => {
    const json = `json:${JSON.stringify({ driver: 'raw', size: 1, file: { driver: 'nbd' } })}`;
    expect(guestfishDrive(json)).toBeNull();
    expect(guestfishDrive('nbd+unix:///?socket=/tmp/a%20b/x.sock')).toBeNull();
    expect(guestfishDrive('nbd+unix:///')).toBeNull();
    expect(guestfishDrive('https://vc.example.com/folder/a.vmdk')).toBeNull();
  });
});
