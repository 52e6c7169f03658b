import { parseIfaceList, parseNameList, parseNodeMemStats, parseVersion } from './virsh-text';

describe('parseNodeMemStats', () => {
  it('reads the figures in KiB (virsh 9.0 on this machine)', () => {
    const out =
      'total  :             24684092 KiB\n' +
      'free   :             23721360 KiB\n' +
      'buffers:                46800 KiB\n' +
      'cached :               387612 KiB\n\n';
    expect(parseNodeMemStats(out)).toEqual({
      total: 24684092,
      free: 23721360,
      buffers: 46800,
      cached: 387612,
    });
  });

  it('throws without a total', () => {
    expect(() => parseNodeMemStats('free   :   1 KiB\n')).toThrow(/no "total/);
    expect(() => parseNodeMemStats('')).toThrow(/no "total/);
  });
});

describe('parseVersion', () => {
  it('reads the hypervisor and its version', () => {
    const qemu =
      'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\n' +
      'Running hypervisor: QEMU 7.2.22\n\n';
    expect(parseVersion(qemu)).toEqual({ hypervisor: 'QEMU', version: '7.2.22', library: '9.0.0' });
    const test = 'Using API: TEST 9.0.0\nRunning hypervisor: TEST 0.0.2\n';
    expect(parseVersion(test)).toMatchObject({ hypervisor: 'TEST', version: '0.0.2' });
  });

  it('leaves them undefined when virsh does not print the hypervisor', () => {
    expect(parseVersion('Compiled against library: libvirt 9.0.0\n')).toEqual({
      hypervisor: undefined,
      version: undefined,
      library: undefined,
    });
  });
});

describe('parseIfaceList', () => {
  it('reads the names below the dashes (virsh 9.0 has no iface-list --name)', () => {
    const out =
      ' Name   State      MAC Address\n' +
      '--------------------------------------\n' +
      ' eth0   active     02:fc:00:00:00:01\n' +
      ' ifb0   inactive   ce:a6:d6:9c:39:9a\n' +
      ' lo     inactive   00:00:00:00:00:00\n\n';
    expect(parseIfaceList(out)).toEqual(['eth0', 'ifb0', 'lo']);
    expect(parseIfaceList(' Name   State   MAC Address\n------------------------\n\n')).toEqual([]);
  });

  it('throws on something that is not the table', () => {
    expect(() => parseIfaceList('eth0\n')).toThrow(/no table/);
  });
});

describe('parseNameList', () => {
  it('one name a line, padding trimmed', () => {
    expect(parseNameList('default-pool        \n\n')).toEqual(['default-pool']);
    expect(parseNameList('\n')).toEqual([]);
  });
});
