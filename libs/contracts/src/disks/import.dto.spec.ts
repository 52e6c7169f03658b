import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { ValidationError } from 'class-validator';
import { ImportDiskRequest, foreignSourceFields } from './import.dto';

/** Every failing property path (nested with dots), as the validation pipe reports them. */
function failing(body: object): string[] {
  const walk = (errors: ValidationError[], prefix: string): string[] =>
    errors.flatMap((e) => [
      ...(e.constraints ? [`${prefix}${e.property}`] : []),
      ...walk(e.children ?? [], `${prefix}${e.property}.`),
    ]);
  const errors = validateSync(plainToInstance(ImportDiskRequest, body), {
    whitelist: true,
    forbidNonWhitelisted: true,
  });
  return walk(errors, '').sort();
}

const CREDS = { url: 'https://vc.example.com', username: 'u', password: 'p' };

describe('ImportDiskRequest', () => {
  it("takes the issue's three sources", () => {
    expect(
      failing({ source: { type: 'vsphere', VcenterCredentials: CREDS, vmId: 'vm-1001', disk: '2000' } }),
    ).toEqual([]);
    expect(failing({ source: { type: 'file', path: '/imports/web01.ova' } })).toEqual([]);
    expect(failing({ source: { type: 'file', path: '/imports/web01.ova', disk: 2 }, format: 'raw' })).toEqual(
      [],
    );
    expect(
      failing({ source: { type: 'url', url: 'https://img.example.com/d.vmdk' }, attach_to: null }),
    ).toEqual([]);
    expect(
      failing({
        source: {
          type: 'vsphere',
          exportId: '6f1c2e4a-0b7d-4e6f-8a1b-3f2a9c1e0b7d',
          vmId: 'vm-1',
          disk: '2001',
        },
        name: 'web01-disk2',
        attach_to: 'ferry-appliance',
      }),
    ).toEqual([]);
  });

  it('names each missing or bad field', () => {
    expect(failing({})).toEqual(['source']);
    expect(failing({ source: { type: 'ftp' } })).toEqual(['source.type']);
    expect(failing({ source: { type: 'vsphere', vmId: 'vm-1', disk: '2000' } })).toEqual([
      'source.VcenterCredentials',
    ]);
    expect(failing({ source: { type: 'vsphere', VcenterCredentials: CREDS, vmId: 'vm-1' } })).toEqual([
      'source.disk',
    ]);
    expect(
      failing({ source: { type: 'vsphere', VcenterCredentials: CREDS, vmId: 'vm-1', disk: 'sda' } }),
    ).toEqual(['source.disk']);
    expect(
      failing({
        source: { type: 'vsphere', VcenterCredentials: { ...CREDS, password: '' }, vmId: 'v', disk: '1' },
      }),
    ).toEqual(['source.VcenterCredentials.password']);
    expect(failing({ source: { type: 'file', path: 'relative/x.vmdk' } })).toEqual(['source.path']);
    expect(failing({ source: { type: 'file' } })).toEqual(['source.path']);
    expect(failing({ source: { type: 'file', path: '/i/x.ova', disk: 0 } })).toEqual(['source.disk']);
    expect(failing({ source: { type: 'file', path: '/i/x.ova', disk: '../x' } })).toEqual(['source.disk']);
    expect(failing({ source: { type: 'url', url: 'ftp://x/y' } })).toEqual(['source.url']);
    expect(failing({ source: { type: 'url', url: 'https://x/y' }, name: '../etc' })).toEqual(['name']);
    expect(failing({ source: { type: 'url', url: 'https://x/y' }, format: 'vmdk' })).toEqual(['format']);
    expect(failing({ source: { type: 'url', url: 'https://x/y' }, attach_to: 'a/b' })).toEqual(['attach_to']);
    expect(failing({ source: { type: 'url', url: 'https://x/y', bogus: 1 } })).toEqual(['source.bogus']);
  });

  it("finds the fields a source's type does not take", () => {
    expect(foreignSourceFields({ type: 'file', path: '/x', url: 'https://y' })).toEqual(['url']);
    expect(foreignSourceFields({ type: 'url', url: 'https://y', vmId: 'vm-1' })).toEqual(['vmId']);
    expect(foreignSourceFields({ type: 'vsphere', vmId: 'vm-1', disk: '2000' })).toEqual([]);
  });
});
