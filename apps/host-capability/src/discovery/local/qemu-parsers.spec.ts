import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQmpReplies } from '@ferry/qemu';
import {
  diskBuses,
  hasDevice,
  machineCpuMax,
  nicModels,
  parseAccelHelp,
  parseCpuHelp,
  parseDeviceHelp,
  parseFirmwareDescriptor,
  parseImageFormats,
  parseMachineHelp,
  parseQemuVersion,
  qmpStringList,
} from './qemu-parsers';

/** Output of Debian 12's QEMU 7.2 (qemu-system-x86 1:7.2+dfsg-7+deb12u18), as captured. */
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('parseMachineHelp', () => {
  it('lists the machine types of QEMU 7.2 with their aliases and the default', () => {
    const help = parseMachineHelp(fixture('qemu-7.2-machine-help.txt'));
    expect(help.machines).toHaveLength(60);
    expect(help.machines).toEqual(
      expect.arrayContaining(['q35', 'pc', 'pc-q35-7.2', 'pc-i440fx-1.4', 'microvm']),
    );
    expect(help.machines).not.toContain('none');
    expect(help.machines).toEqual([...help.machines].sort());
    expect(help.aliases).toEqual({ pc: 'pc-i440fx-7.2', q35: 'pc-q35-7.2' });
    expect(help.defaultMachine).toBe('pc-i440fx-7.2');
  });

  it('reads "(alias of ...)", "(default)" and "(deprecated)" markers', () => {
    const text = [
      'Supported machines are:',
      'q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-8.2)',
      'pc-q35-8.2           Standard PC (Q35 + ICH9, 2009) (default)',
      'pc-i440fx-1.4        Standard PC (i440FX + PIIX, 1996) (deprecated)',
      'none                 empty machine',
      '',
    ].join('\n');
    expect(parseMachineHelp(text)).toEqual({
      machines: ['pc-i440fx-1.4', 'pc-q35-8.2', 'q35'],
      aliases: { q35: 'pc-q35-8.2' },
      defaultMachine: 'pc-q35-8.2',
    });
  });

  it('throws without the header', () => {
    expect(() => parseMachineHelp('qemu-system-x86_64: -machine help: unknown\n')).toThrow(
      'no "Supported machines are:" section',
    );
  });
});

describe('parseCpuHelp', () => {
  it('takes the names of "Available CPUs:", not the CPUID flags after it', () => {
    const models = parseCpuHelp(fixture('qemu-7.2-cpu-help.txt'));
    expect(models).toEqual(
      expect.arrayContaining(['486', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-v4', 'host', 'max', 'base']),
    );
    expect(models).not.toContain('x86');
    expect(models).not.toContain('3dnow');
    expect(models).toHaveLength(25);
    expect(models).toEqual([...models].sort());
  });
});

describe('parseDeviceHelp', () => {
  const help = parseDeviceHelp(fixture('qemu-7.2-device-help.txt'));

  it('splits the sections', () => {
    expect(Object.keys(help)).toEqual([
      'Controller/Bridge/Hub devices',
      'USB devices',
      'Storage devices',
      'Network devices',
      'Input devices',
      'Display devices',
      'Sound devices',
      'Misc devices',
      'CPU devices',
      'Watchdog devices',
      'Uncategorized devices',
    ]);
    expect(help['Network devices']).toContainEqual({
      name: 'virtio-net-pci',
      bus: 'PCI',
      alias: 'virtio-net',
      desc: undefined,
    });
    expect(help['Network devices']).toContainEqual({
      name: 'e1000',
      bus: 'PCI',
      alias: 'e1000-82540em',
      desc: 'Intel Gigabit Ethernet',
    });
  });

  it('gives the NIC models of "Network devices:"', () => {
    const nics = nicModels(help);
    expect(nics).toHaveLength(30);
    expect(nics).toEqual(expect.arrayContaining(['e1000', 'e1000e', 'rtl8139', 'virtio-net-pci', 'vmxnet3']));
    expect(nics).not.toContain('virtio-blk-pci');
  });

  it('derives the disk buses of "Storage devices:"', () => {
    expect(diskBuses(help)).toEqual(['ide', 'nvme', 'sata', 'scsi', 'usb', 'virtio']);
  });

  it('finds devices by name or alias in any section', () => {
    expect(hasDevice(help, 'virtio-balloon-pci')).toBe(true);
    expect(hasDevice(help, 'virtio-balloon')).toBe(true);
    expect(hasDevice(help, 'no-such-device')).toBe(false);
  });

  it('gives only the buses whose devices a trimmed build has', () => {
    const trimmed = parseDeviceHelp(
      [
        'Storage devices:',
        'name "virtio-blk-pci", bus PCI, alias "virtio-blk"',
        'name "ich9-ahci", bus PCI, alias "ahci"',
        '',
        'Network devices:',
        'name "e1000e", bus PCI, desc "Intel 82574L GbE Controller"',
        '',
      ].join('\n'),
    );
    expect(diskBuses(trimmed)).toEqual(['virtio']); // AHCI without ide-hd gives no SATA disk
    expect(nicModels(trimmed)).toEqual(['e1000e']);
  });

  it('throws when a section is missing', () => {
    const noNet = parseDeviceHelp('Storage devices:\nname "scsi-hd", bus SCSI\n');
    expect(diskBuses(noNet)).toEqual(['scsi']);
    expect(() => nicModels(noNet)).toThrow('no "Network devices:" section in -device help');
  });
});

describe('other QEMU output', () => {
  it('reads the version', () => {
    const text = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n';
    expect(parseQemuVersion(text)).toBe('7.2.22');
    expect(parseQemuVersion('QEMU emulator version 9.1.0\n')).toBe('9.1.0');
    expect(() => parseQemuVersion('bash: qemu: command not found')).toThrow('no version');
  });

  it('reads the accelerators', () => {
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n')).toEqual(['kvm', 'tcg']);
    expect(() => parseAccelHelp('')).toThrow('no "Accelerators supported" line');
  });

  it('reads the formats line of qemu-img --help', () => {
    const formats = parseImageFormats(fixture('qemu-img-7.2-help.txt'));
    expect(formats).toHaveLength(42);
    expect(formats).toEqual(
      expect.arrayContaining(['qcow2', 'raw', 'vmdk', 'vhdx', 'vdi', 'luks', 'throttle', 'file']),
    );
    expect(formats[0]).toBe('blkdebug');
    expect(formats).toEqual([...formats].sort());
  });

  it('throws without a formats line', () => {
    expect(() => parseImageFormats('usage: qemu-img [standard options] command\n')).toThrow(
      'no "Supported formats:" line',
    );
  });
});

describe('QMP', () => {
  const replies = parseQmpReplies(fixture('qmp-session.txt'));

  it('maps replies by id, skipping the greeting and events', () => {
    expect([...replies.keys()]).toEqual(['kvm', 'sev', 'tpmm', 'tpmt', 'm', 'x', 'q']);
    expect(replies.get('kvm')).toEqual({ return: { enabled: false, present: true } });
    expect(replies.get('sev')).toEqual({ error: { class: 'GenericError', desc: 'KVM not enabled' } });
    expect(replies.get('x')).toEqual({
      error: { class: 'CommandNotFound', desc: 'The command query-nonexistent has not been found' },
    });
  });

  it('reads the TPM lists', () => {
    const models = replies.get('tpmm') as { return: unknown };
    const types = replies.get('tpmt') as { return: unknown };
    expect(qmpStringList(models.return)).toEqual(['tpm-crb', 'tpm-tis']);
    expect(qmpStringList(types.return)).toEqual(['emulator', 'passthrough']);
    expect(() => qmpStringList({})).toThrow('not a list of strings');
  });

  it("takes cpu-max of q35's machine", () => {
    const machines = replies.get('m') as { return: unknown };
    expect(machineCpuMax(machines.return)).toEqual({ machine: 'pc-q35-7.2', cpuMax: 288 });
  });

  it('falls back to the default machine, and fails without either', () => {
    const defaultOnly = [
      { name: 'pc-i440fx-7.2', 'is-default': true, 'cpu-max': 255 },
      { name: 'microvm', 'cpu-max': 288 },
    ];
    expect(machineCpuMax(defaultOnly)).toEqual({ machine: 'pc-i440fx-7.2', cpuMax: 255 });
    expect(() => machineCpuMax([{ name: 'microvm', 'cpu-max': 288 }])).toThrow(
      'neither q35 nor a default machine',
    );
  });
});

describe('parseFirmwareDescriptor', () => {
  it("reads Debian's OVMF Secure Boot descriptor", () => {
    const text = JSON.stringify({
      description: 'UEFI firmware for x86_64, with Secure Boot and SMM',
      'interface-types': ['uefi'],
      mapping: {
        device: 'flash',
        executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', format: 'raw' },
        'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', format: 'raw' },
      },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
      features: ['acpi-s3', 'amd-sev', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
      tags: [],
    });
    expect(parseFirmwareDescriptor(text)).toEqual({
      interfaceTypes: ['uefi'],
      features: ['acpi-s3', 'amd-sev', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
      architectures: ['x86_64'],
      executable: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
    });
  });

  it('reads a memory-mapped BIOS descriptor', () => {
    const text = JSON.stringify({
      'interface-types': ['bios'],
      mapping: { device: 'memory', filename: '/usr/share/seabios/bios-256k.bin' },
      targets: [{ architecture: 'i386' }, { architecture: 'x86_64' }],
    });
    expect(parseFirmwareDescriptor(text)).toEqual({
      interfaceTypes: ['bios'],
      features: [],
      architectures: ['i386', 'x86_64'],
      executable: '/usr/share/seabios/bios-256k.bin',
    });
  });

  it('throws on invalid JSON', () => {
    expect(() => parseFirmwareDescriptor('{')).toThrow();
  });
});
