import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePoolCapabilities, parsePoolCapacity } from './pool-capabilities-xml';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('parsePoolCapabilities', () => {
  it('reads this machine’s answer: supported pool types and the dir/fs volume formats', () => {
    const p = parsePoolCapabilities(fixture('qemu-system-pool-capabilities.xml'));
    expect(p.pool_types.value).toEqual(['dir', 'disk', 'fs', 'iscsi', 'logical', 'mpath', 'netfs', 'scsi']);
    expect(p.image_formats.value).toEqual([
      'bochs',
      'cloop',
      'cow',
      'dmg',
      'fat',
      'iso',
      'ploop',
      'qcow',
      'qcow2',
      'qed',
      'raw',
      'vdi',
      'vhd',
      'vmdk',
      'vpc',
    ]);
    expect(p.image_formats.source).toBe('virsh pool-capabilities (<volOptions> of the dir/fs pools)');
    // No luks among the formats does not mean no encryption: unknown.
    expect(p.encryption.value).toBeNull();
  });

  it('encryption is true when the dir/fs formats list luks; unsupported pools do not count', () => {
    const p = parsePoolCapabilities(
      `<storagepoolCapabilities>
        <pool type='dir' supported='yes'><volOptions><defaultFormat type='raw'/>
          <enum name='targetFormatType'><value>raw</value><value>qcow2</value><value>luks</value></enum>
        </volOptions></pool>
        <pool type='rbd' supported='no'/>
        <pool type='logical' supported='yes'/>
      </storagepoolCapabilities>`,
    );
    expect(p.pool_types.value).toEqual(['dir', 'logical']);
    expect(p.image_formats.value).toEqual(['luks', 'qcow2', 'raw']);
    expect(p.encryption.value).toBe(true);
  });

  it('without a supported dir or fs pool, image formats are unknown', () => {
    const p = parsePoolCapabilities(
      `<storagepoolCapabilities><pool type='dir' supported='no'/></storagepoolCapabilities>`,
    );
    expect(p.pool_types.value).toEqual([]);
    expect(p.image_formats.value).toBeNull();
  });
});

describe('parsePoolCapacity', () => {
  it('reads the capacity in bytes (test:///default’s pool)', () => {
    const xml = `<pool type='dir'><name>default-pool</name>
      <capacity unit='bytes'>107374182400</capacity><allocation unit='bytes'>0</allocation></pool>`;
    expect(parsePoolCapacity(xml)).toEqual({
      name: 'default-pool',
      type: 'dir',
      capacityBytes: 107374182400,
    });
  });

  it('converts other units and leaves a missing capacity undefined', () => {
    expect(
      parsePoolCapacity(`<pool><name>p</name><capacity unit='GiB'>2</capacity></pool>`).capacityBytes,
    ).toBe(2 * 1024 ** 3);
    expect(parsePoolCapacity(`<pool><name>p</name></pool>`).capacityBytes).toBeUndefined();
  });
});
