import { Injectable, Logger } from '@nestjs/common';
import type { CreateTemplateRequest, ListTemplatesRequest, Page, TemplateDto } from '@ferry/contracts';
import { FerryError, TemplateEvents, decodeCursor, pageLimit } from '@ferry/contracts';
import { EventFactory, Transactional, pageOf } from '@ferry/platform';
import type { TemplateEntity } from './entities/template.entity';
import { TemplateUsage } from './template-usage';
import { TemplatesRepository } from './templates.repository';

export function toTemplateDto(t: TemplateEntity): TemplateDto {
  return {
    name: t.name,
    cpu_count: t.cpuCount,
    ram_amount: t.ramAmount,
    machine_type: t.machineType,
    required_traits: t.requiredTraits,
    created_at: t.createdAt.toISOString(),
  };
}

@Injectable()
export class TemplatesService {
  private readonly logger = new Logger(TemplatesService.name);

  constructor(
    private readonly templates: TemplatesRepository,
    private readonly usage: TemplateUsage,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
  ) {}

  async create(req: CreateTemplateRequest): Promise<TemplateDto> {
    const dto = await this.tx.run(async (uow) => {
      const entity = await this.templates.insert(uow.em, {
        name: req.name,
        cpuCount: req.cpu_count,
        ramAmount: req.ram_amount,
        machineType: req.machine_type ?? 'q35',
        requiredTraits: req.required_traits ?? [],
      });
      const template = toTemplateDto(entity);
      await uow.emit(this.events.create(TemplateEvents.CREATED, template.name, { template }));
      return template;
    });
    this.logger.log({ msg: 'template created', template: dto.name });
    return dto;
  }

  async get(name: string): Promise<TemplateDto> {
    const t = await this.templates.findByName(name);
    if (!t) throw FerryError.notFound(`template "${name}" not found`, { name });
    return toTemplateDto(t);
  }

  /** One page of templates, ordered by name (unique: the keyset). */
  async list(req: ListTemplatesRequest): Promise<Page<TemplateDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['text'])[0];
    const limit = pageLimit(req);
    const rows = await this.templates.page(limit + 1, after);
    return pageOf(rows, limit, (t) => [t.name], toTemplateDto);
  }

  async delete(name: string): Promise<void> {
    await this.tx.run(async (uow) => {
      const t = await this.templates.lockByName(uow.em, name);
      if (!t) throw FerryError.notFound(`template "${name}" not found`, { name });
      const vms = await this.usage.vmsUsing(uow.em, name);
      if (vms.length > 0) {
        throw FerryError.conflict(`template "${name}" is used by ${vms.length} VM(s)`, { name, vmIds: vms });
      }
      await this.templates.delete(uow.em, name);
      await uow.emit(this.events.create(TemplateEvents.DELETED, name, { name }));
    });
    this.logger.log({ msg: 'template deleted', template: name });
  }
}
