import type { TemplateDto } from './template.dto';

// Published event types: never edit one in place.
export const TemplateEvents = {
  CREATED: 'ferry.vm-operator.template.created',
  DELETED: 'ferry.vm-operator.template.deleted',
} as const;

export interface TemplateEventData {
  [TemplateEvents.CREATED]: { template: TemplateDto };
  [TemplateEvents.DELETED]: { name: string };
}
