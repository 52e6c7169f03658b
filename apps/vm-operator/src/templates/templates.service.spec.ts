import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type { Transactional, UnitOfWork } from '@ferry/platform';
import { EventFactory } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import type { TemplateEntity } from './entities/template.entity';
import type { TemplateUsage } from './template-usage';
import type { TemplatesRepository } from './templates.repository';
import { TemplatesService } from './templates.service';

function setup(usedBy: string[], existing: TemplateEntity | null) {
  const emitted: unknown[] = [];
  const deleted: string[] = [];
  const uow: UnitOfWork = {
    em: {} as EntityManager,
    emit: async (e) => void emitted.push(e),
    emitAll: async (es) => void emitted.push(...es),
  };
  const tx = { run: <T>(work: (u: UnitOfWork) => Promise<T>) => work(uow) } as unknown as Transactional;
  const repo = {
    lockByName: async () => existing,
    delete: async (_em: EntityManager, name: string) => void deleted.push(name),
  } as unknown as TemplatesRepository;
  const usage = { vmsUsing: async () => usedBy } as unknown as TemplateUsage;
  const service = new TemplatesService(repo, usage, tx, new EventFactory('vm-operator'));
  return { service, emitted, deleted };
}

const small = {
  name: 'small',
  cpuCount: 1,
  ramAmount: 512,
  machineType: 'q35',
  requiredTraits: [],
  createdAt: new Date(),
} as TemplateEntity;

beforeAll(() => Logger.overrideLogger(false));

describe('TemplatesService.delete', () => {
  it('refuses with CONFLICT while VMs use the template, and deletes and emits nothing', async () => {
    const { service, emitted, deleted } = setup(['vm-1', 'vm-2'], small);
    const err = await service.delete('small').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('CONFLICT');
    expect((err as FerryError).details).toMatchObject({ vmIds: ['vm-1', 'vm-2'] });
    expect(deleted).toEqual([]);
    expect(emitted).toEqual([]);
  });

  it('deletes an unused template and emits template.deleted', async () => {
    const { service, emitted, deleted } = setup([], small);
    await service.delete('small');
    expect(deleted).toEqual(['small']);
    expect(emitted).toEqual([
      expect.objectContaining({
        type: 'ferry.vm-operator.template.deleted',
        subject: 'small',
        data: { name: 'small' },
      }),
    ]);
  });

  it('reports NOT_FOUND for an unknown template', async () => {
    const { service } = setup([], null);
    await expect(service.delete('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
