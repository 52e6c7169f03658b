import { FerryError } from '@ferry/contracts';
import type { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { LogTail, TailOptions } from '../drivers/qemu/serial-console';
import type { VmRecord } from './entities/vm.entity';
import { CONSOLE_REPLY_TEXT_BUDGET, VmConsoleService } from './vm-console.service';
import type { VmsRepository } from './vms.repository';

const ID = '7c0e4a52-3b1d-4f6e-8a9b-0c1d2e3f4a5b';

function setup(tail: LogTail) {
  const vm = { id: ID, name: 'web-1', state: 'stopped' } as VmRecord;
  const vms = { findById: async (id: string) => (id === ID ? vm : null) } as unknown as VmsRepository;
  const reads: { vmId: string; boot: string; options: TailOptions }[] = [];
  const qemu = {
    readConsole: async (vmId: string, boot: string, options: TailOptions) => {
      reads.push({ vmId, boot, options });
      return tail;
    },
  } as unknown as QemuDriver;
  return { service: new VmConsoleService(vms, qemu), reads };
}

describe('VmConsoleService', () => {
  it('reads 64 KiB of the current boot by default, within the NATS reply budget', async () => {
    const updatedAt = new Date('2026-12-01T12:00:00.000Z');
    const { service, reads } = setup({ text: 'FERRY-BOOT-OK\n', bytes: 15, truncated: false, updatedAt });
    expect(await service.read({ id: ID })).toEqual({
      id: ID,
      text: 'FERRY-BOOT-OK\n',
      bytes: 15,
      truncated: false,
      updated_at: '2026-12-01T12:00:00.000Z',
    });
    expect(reads).toEqual([
      {
        vmId: ID,
        boot: 'current',
        options: { tailBytes: 64 * 1024, maxJsonBytes: CONSOLE_REPLY_TEXT_BUDGET },
      },
    ]);
    expect(CONSOLE_REPLY_TEXT_BUDGET).toBeLessThan(1024 * 1024);
  });

  it('passes the tail and the boot asked for', async () => {
    const { service, reads } = setup({ text: '', bytes: 0, truncated: false, updatedAt: null });
    await service.read({ id: ID, tailBytes: 100, boot: 'previous' });
    expect(reads[0]).toMatchObject({ boot: 'previous', options: { tailBytes: 100 } });
  });

  it('gives a VM without a log an empty console and a null updated_at', async () => {
    const { service } = setup({ text: '', bytes: 0, truncated: false, updatedAt: null });
    expect(await service.read({ id: ID })).toEqual({
      id: ID,
      text: '',
      bytes: 0,
      truncated: false,
      updated_at: null,
    });
  });

  it('is NOT_FOUND for an unknown VM, without reading any log', async () => {
    const { service, reads } = setup({ text: 'x', bytes: 1, truncated: false, updatedAt: null });
    const err = await service.read({ id: 'vm-12345678-test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('NOT_FOUND');
    expect(reads).toEqual([]);
  });
});
