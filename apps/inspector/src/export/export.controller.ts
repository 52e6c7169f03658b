import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ReplyOf } from '@ferry/contracts';
import { ExportIdRequest, InspectorSubjects, OpenExportRequest } from '@ferry/contracts';
import { ExportService } from './export.service';

const { EXPORT_OPEN, EXPORT_SESSION, EXPORT_GET, EXPORT_CLOSE } = InspectorSubjects;

/** `inspector.export.*`, each reply typed by the RpcMap that callers' `send()` is checked against. */
@Controller()
export class ExportController {
  constructor(private readonly exports: ExportService) {}

  @MessagePattern(EXPORT_OPEN)
  open(@Payload() req: OpenExportRequest): Promise<ReplyOf<typeof EXPORT_OPEN>> {
    return this.exports.open(req);
  }

  @MessagePattern(EXPORT_SESSION)
  session(@Payload() req: ExportIdRequest): Promise<ReplyOf<typeof EXPORT_SESSION>> {
    return this.exports.session(req.id);
  }

  @MessagePattern(EXPORT_GET)
  get(@Payload() req: ExportIdRequest): Promise<ReplyOf<typeof EXPORT_GET>> {
    return this.exports.get(req.id);
  }

  @MessagePattern(EXPORT_CLOSE)
  close(@Payload() req: ExportIdRequest): Promise<ReplyOf<typeof EXPORT_CLOSE>> {
    return this.exports.close(req.id);
  }
}
