import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { FileEditDto, GuestFixDto } from './guest-fix.dto';

/** The properties a body fails on (nested ones as `edits`), as a validation pipe sees them. */
function fields(dto: ClassConstructor<object>, body: object): string[] {
  const errors = validateSync(plainToInstance(dto, body), { whitelist: true, forbidNonWhitelisted: true });
  return errors.map((e) => e.property).sort();
}

const SHA = 'a'.repeat(64);
const write = {
  kind: 'write',
  path: '/etc/fstab',
  before_sha256: SHA,
  content: 'x\n',
  diff: '--- a/etc/fstab',
};
const command = {
  kind: 'command',
  path: '/var/lib/dpkg/info/open-vm-tools.list',
  before_sha256: SHA,
  command: ['/usr/bin/dpkg', '--purge', 'open-vm-tools'],
  unless_absent: '/var/lib/dpkg/info/open-vm-tools.list',
  diff: 'run /usr/bin/dpkg --purge open-vm-tools',
};

describe('FileEditDto', () => {
  it('takes the edits the planner makes', () => {
    expect(fields(FileEditDto, write)).toEqual([]);
    expect(fields(FileEditDto, { ...write, before_sha256: null })).toEqual([]);
    expect(fields(FileEditDto, command)).toEqual([]);
    expect(
      fields(FileEditDto, {
        kind: 'symlink',
        path: '/etc/systemd/system/x.service',
        before_sha256: null,
        target: '/dev/null',
        diff: 'mask',
      }),
    ).toEqual([]);
  });

  it('refuses paths outside the guest, commands a shell would read differently, and bad fingerprints', () => {
    expect(fields(FileEditDto, { ...write, path: 'etc/fstab' })).toEqual(['path']);
    expect(fields(FileEditDto, { ...write, path: '/etc/../../x' })).toEqual(['path']);
    expect(fields(FileEditDto, { ...write, before_sha256: 'ABC' })).toEqual(['before_sha256']);
    expect(fields(FileEditDto, { ...write, content: undefined })).toEqual(['content']);
    expect(fields(FileEditDto, { ...command, command: ['/bin/sh', '-c', 'rm -rf /'] })).toEqual(['command']);
    expect(fields(FileEditDto, { ...command, unless_absent: undefined })).toEqual(['unless_absent']);
    expect(fields(FileEditDto, { ...write, kind: 'chmod' })).toEqual(['kind']);
  });
});

describe('GuestFixDto', () => {
  it('validates its edits', () => {
    const fix = { name: 'by-path', title: 't', notes: ['n'], edits: [write] };
    expect(fields(GuestFixDto, fix)).toEqual([]);
    expect(fields(GuestFixDto, { ...fix, name: 'windows' })).toEqual(['name']);
    expect(fields(GuestFixDto, { ...fix, edits: [{ ...write, path: 'x' }] })).toEqual(['edits']);
  });
});
