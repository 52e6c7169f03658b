import { nodeName, overlayNodeName, qemuArgs, serialOf } from './qemu-args';

const paths = {
  dir: '/run/ferry/vm-1',
  qmpSocket: '/run/ferry/vm-1/qmp.sock',
  auxQmpSocket: '/run/ferry/vm-1/qmp-aux.sock',
  pidFile: '/run/ferry/vm-1/qemu.pid',
  logFile: '/run/ferry/vm-1/qemu.log',
  serialLog: '/run/ferry/vm-1/serial.log',
};

describe('qemuArgs', () => {
  it('builds a daemonized, default-free VM with a SCSI controller and its QMP socket', () => {
    const args = qemuArgs({ id: 'vm-1', cpuCount: 2, ramMiB: 512, machine: 'q35', disks: [] }, paths, 'tcg');
    expect(args).toEqual(expect.arrayContaining(['-nodefaults', '-daemonize', '-pidfile', paths.pidFile]));
    expect(args.join(' ')).toContain('-vga std');
    expect(args[args.indexOf('-machine') + 1]).toBe('q35,accel=tcg');
    expect(args[args.indexOf('-qmp') + 1]).toBe(`unix:${paths.qmpSocket},server=on,wait=off`);
    expect(args[args.lastIndexOf('-qmp') + 1]).toBe(`unix:${paths.auxQmpSocket},server=on,wait=off`);
    expect(args[args.indexOf('-smp') + 1]).toBe('2');
    expect(args[args.indexOf('-m') + 1]).toBe('512M');
    expect(args).toContain('virtio-scsi-pci,id=scsi0');
  });

  it("writes the serial console to the VM's serial.log, where it outlives QEMU", () => {
    const args = qemuArgs({ id: 'vm-1', cpuCount: 1, ramMiB: 64, machine: 'q35', disks: [] }, paths, 'tcg');
    expect(args[args.indexOf('-chardev') + 1]).toBe(`file,id=serial0,path=${paths.serialLog}`);
    expect(args[args.indexOf('-serial') + 1]).toBe('chardev:serial0');
    // One serial port, and not the `-serial none` of old.
    expect(args.filter((a) => a === '-serial')).toHaveLength(1);
  });

  it("doubles a comma in the serial log's path, as QEMU's option syntax needs", () => {
    const args = qemuArgs(
      { id: 'vm-1', cpuCount: 1, ramMiB: 64, machine: 'q35', disks: [] },
      { ...paths, serialLog: '/run/a,b/vm-1/serial.log' },
      'tcg',
    );
    expect(args[args.indexOf('-chardev') + 1]).toBe('file,id=serial0,path=/run/a,,b/vm-1/serial.log');
  });

  it('passes cold-plugged disks as JSON blockdevs, so a comma in a path stays a path', () => {
    const args = qemuArgs(
      {
        id: 'vm-1',
        cpuCount: 1,
        ramMiB: 64,
        machine: 'q35',
        disks: [{ deviceId: 'disk-a', path: '/data/a,b.qcow2', format: 'qcow2', readOnly: false }],
      },
      paths,
      'kvm',
    );
    const blockdev = JSON.parse(args[args.indexOf('-blockdev') + 1] ?? '{}') as {
      file: { filename: string };
      'node-name': string;
    };
    expect(blockdev.file.filename).toBe('/data/a,b.qcow2');
    expect(blockdev['node-name']).toBe('drive-disk-a');
    expect(args).toContain(
      `scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=drive-disk-a,id=disk-a,serial=${serialOf('disk-a')}`,
    );
  });

  it('refuses ids and machine types that could break out of a path or an option', () => {
    const spec = { id: 'vm-1', cpuCount: 1, ramMiB: 64, machine: 'q35', disks: [] };
    expect(() => qemuArgs({ ...spec, id: '../etc' }, paths, 'tcg')).toThrow(/invalid VM id/);
    expect(() => qemuArgs({ ...spec, machine: 'q35,accel=kvm' }, paths, 'tcg')).toThrow(
      /invalid machine type/,
    );
    expect(() =>
      qemuArgs(
        { ...spec, disks: [{ deviceId: 'x,id=y', path: '/a', format: 'raw', readOnly: true }] },
        paths,
        'tcg',
      ),
    ).toThrow(/invalid device id/);
  });

  it("keeps block node names within QEMU's 31 characters, distinct per device", () => {
    const a = '476d3ae1-a4f3-4f31-a811-826fd740425f';
    const b = '476d3ae1-a4f3-4f31-a811-826fd740425e';
    for (const name of [nodeName(a), nodeName(b), overlayNodeName(a)])
      expect(name.length).toBeLessThanOrEqual(31);
    expect(nodeName(a)).not.toBe(nodeName(b));
    expect(nodeName('vol-1')).toBe('drive-vol-1');
    expect(overlayNodeName('vol-1')).toBe('overlay-vol-1');
  });

  describe('NICs', () => {
    const spec = { id: 'vm-1', cpuCount: 1, ramMiB: 64, machine: 'q35', disks: [] };

    it('opens each bridge-mode NIC on its own tap, virtio-net with its MAC and without an option ROM', () => {
      const args = qemuArgs(
        {
          ...spec,
          nics: [
            {
              mac: '52:54:00:0a:0b:0c',
              model: 'virtio-net-pci',
              backend: { type: 'tap', ifname: 'ft0123456789ab0' },
            },
            {
              mac: '00:50:56:a1:2b:3c',
              model: 'virtio-net-pci',
              backend: { type: 'tap', ifname: 'ft0123456789ab1' },
            },
          ],
        },
        paths,
        'tcg',
      );
      const netdevs = args.flatMap((a, i) => (a === '-netdev' ? [args[i + 1]] : []));
      expect(netdevs).toEqual([
        'tap,id=net0,ifname=ft0123456789ab0,script=no,downscript=no',
        'tap,id=net1,ifname=ft0123456789ab1,script=no,downscript=no',
      ]);
      expect(args).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:0a:0b:0c,id=nic0,romfile=');
      expect(args).toContain('virtio-net-pci,netdev=net1,mac=00:50:56:a1:2b:3c,id=nic1,romfile=');
      // After the disks' controller, so disk and NIC PCI slots stay where they were for VMs without NICs.
      expect(args.indexOf('-netdev')).toBeGreaterThan(args.indexOf('virtio-scsi-pci,id=scsi0'));
    });

    it("puts a user-mode NIC on QEMU's own network", () => {
      const args = qemuArgs(
        { ...spec, nics: [{ mac: '52:54:00:0a:0b:0c', model: 'virtio-net-pci', backend: { type: 'user' } }] },
        paths,
        'tcg',
      );
      expect(args[args.indexOf('-netdev') + 1]).toBe('user,id=net0');
      expect(args).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:0a:0b:0c,id=nic0,romfile=');
    });

    it('has no -netdev without NICs', () => {
      expect(qemuArgs(spec, paths, 'tcg')).not.toContain('-netdev');
      expect(qemuArgs({ ...spec, nics: [] }, paths, 'tcg')).not.toContain('-netdev');
    });

    it('refuses a MAC or tap name that could break out of the option', () => {
      const nic = {
        mac: '52:54:00:0a:0b:0c',
        model: 'virtio-net-pci' as const,
        backend: { type: 'user' as const },
      };
      expect(() =>
        qemuArgs({ ...spec, nics: [{ ...nic, mac: '52:54:00:0a:0b:0c,id=x' }] }, paths, 'tcg'),
      ).toThrow(/invalid MAC/);
      expect(() => qemuArgs({ ...spec, nics: [{ ...nic, mac: '01:00:5e:00:00:01' }] }, paths, 'tcg')).toThrow(
        /invalid MAC/,
      );
      expect(() =>
        qemuArgs(
          { ...spec, nics: [{ ...nic, backend: { type: 'tap', ifname: 'tap0,script=/x' } }] },
          paths,
          'tcg',
        ),
      ).toThrow(/invalid tap name/);
    });
  });
});
