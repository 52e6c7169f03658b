import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { TemplateDeletedDto, TemplateDto, TemplateListDto } from '@ferry/contracts';
import {
  CreateTemplateRequest,
  ListTemplatesRequest,
  TemplateNameRequest,
  TemplateSubjects,
} from '@ferry/contracts';
import { TemplatesService } from './templates.service';

@Controller()
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @MessagePattern(TemplateSubjects.CREATE)
  create(@Payload() req: CreateTemplateRequest): Promise<TemplateDto> {
    return this.templates.create(req);
  }

  @MessagePattern(TemplateSubjects.LIST)
  list(@Payload() req: ListTemplatesRequest): Promise<TemplateListDto> {
    return this.templates.list(req);
  }

  @MessagePattern(TemplateSubjects.GET)
  get(@Payload() req: TemplateNameRequest): Promise<TemplateDto> {
    return this.templates.get(req.name);
  }

  @MessagePattern(TemplateSubjects.DELETE)
  async delete(@Payload() req: TemplateNameRequest): Promise<TemplateDeletedDto> {
    await this.templates.delete(req.name);
    return { name: req.name };
  }
}
