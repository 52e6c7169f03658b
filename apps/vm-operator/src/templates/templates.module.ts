import { Module } from '@nestjs/common';
import { TemplateUsage } from './template-usage';
import { TemplatesController } from './templates.controller';
import { TemplatesRepository } from './templates.repository';
import { TemplatesService } from './templates.service';

@Module({
  controllers: [TemplatesController],
  providers: [TemplatesService, TemplatesRepository, TemplateUsage],
  exports: [TemplatesRepository],
})
export class TemplatesModule {}
