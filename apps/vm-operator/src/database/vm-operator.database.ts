import type { ServiceDatabase } from '@ferry/platform';
import { TemplateEntity } from '../templates/entities/template.entity';
import { Init1732233600000 } from './migrations/1732233600000-init';
import { Vms1732233700000 } from './migrations/1732233700000-vms';
import { VmDevices1732233800000 } from './migrations/1732233800000-vm-devices';
import { DeviceOverlays1732233900000 } from './migrations/1732233900000-device-overlays';
import { TemplateMachineType1732234000000 } from './migrations/1732234000000-template-machine-type';
import { TemplateRequiredTraits1732234100000 } from './migrations/1732234100000-template-required-traits';
import { VmNics1732234200000 } from './migrations/1732234200000-vm-nics';

export const VM_OPERATOR_DATABASE: ServiceDatabase = {
  schema: 'vm_operator',
  entities: [TemplateEntity],
  migrations: [
    Init1732233600000,
    Vms1732233700000,
    VmDevices1732233800000,
    DeviceOverlays1732233900000,
    TemplateMachineType1732234000000,
    TemplateRequiredTraits1732234100000,
    VmNics1732234200000,
  ],
};
