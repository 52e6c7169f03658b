import { XMLParser } from 'fast-xml-parser';
import { driveName, libvirtDomainXml, v2vArgs } from './v2v-args';

describe('v2vArgs', () => {
  it('takes one disk with -i disk and its format, verbose, refusing several roots', () => {
    const { args, domainXml } = v2vArgs([{ path: '/vols/web01.raw', format: 'raw' }], '/tmp/x/domain.xml');
    expect(args).toEqual(['-v', '-x', '--root', 'single', '-i', 'disk', '-if', 'raw', '/vols/web01.raw']);
    expect(domainXml).toBeUndefined();
  });

  it('takes several disks through a libvirt XML written to the given path', () => {
    const disks = [
      { path: '/vols/web01-0.qcow2', format: 'qcow2' as const },
      { path: '/vols/web01-1.raw', format: 'raw' as const },
    ];
    const { args, domainXml } = v2vArgs(disks, '/tmp/x/domain.xml', { verbose: false, root: 'first' });
    expect(args).toEqual(['--root', 'first', '-i', 'libvirtxml', '/tmp/x/domain.xml']);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(domainXml!) as {
      domain: {
        name: string;
        devices: {
          disk: {
            driver: { type: string };
            source: { file: string };
            target: { dev: string; bus: string };
          }[];
        };
      };
    };
    expect(doc.domain.name).toBe('web01-0');
    expect(
      doc.domain.devices.disk.map((d) => [d.source.file, d.driver.type, d.target.dev, d.target.bus]),
    ).toEqual([
      ['/vols/web01-0.qcow2', 'qcow2', 'sda', 'scsi'],
      ['/vols/web01-1.raw', 'raw', 'sdb', 'scsi'],
    ]);
  });

  it('passes a named root device', () => {
    const { args } = v2vArgs([{ path: '/d.raw', format: 'raw' }], '/x', {
      root: '/dev/sda2',
    });
    expect(args).toEqual(['-v', '-x', '--root', '/dev/sda2', '-i', 'disk', '-if', 'raw', '/d.raw']);
  });

  it('refuses no disk, a relative path, an unknown format and a strange root choice', () => {
    expect(() => v2vArgs([], '/x')).toThrow('at least one disk');
    expect(() => v2vArgs([{ path: 'd.raw', format: 'raw' }], '/x')).toThrow('absolute');
    expect(() => v2vArgs([{ path: '/d.vmdk', format: 'vmdk' as 'raw' }], '/x')).toThrow(
      'unsupported disk format',
    );
    expect(() =>
      v2vArgs([{ path: '/d.raw', format: 'raw' }], '/x', { root: '/dev/sda; rm' as 'first' }),
    ).toThrow('bad --root');
  });
});

describe('libvirtDomainXml', () => {
  it('escapes paths and names, and names IDE disks hdX', () => {
    const xml = libvirtDomainXml([{ path: "/v/a'&<b>.raw", format: 'raw' }], 'web & db', 'ide');
    expect(xml).toContain(`<source file='/v/a&apos;&amp;&lt;b&gt;.raw'/>`);
    expect(xml).toContain('<name>web &amp; db</name>');
    expect(xml).toContain(`<target dev='hda' bus='ide'/>`);
  });

  it('counts drives as libvirt does past z', () => {
    expect([0, 1, 25, 26, 27, 701, 702].map((i) => driveName('sd', i))).toEqual([
      'sda',
      'sdb',
      'sdz',
      'sdaa',
      'sdab',
      'sdzz',
      'sdaaa',
    ]);
  });
});
