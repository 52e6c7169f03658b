import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { fieldAlias } from '../common/field-alias';
import { PageQuery } from '../common/page';
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';
import { TEMPLATE_NAME_PATTERN } from '../templates/template.dto';
import { MAX_VM_NICS, VmNicDto, VmNicRequest } from './vm-nic.dto';

export const VM_STATES = ['stopped', 'starting', 'running', 'stopping', 'error'] as const;
export type VmState = (typeof VM_STATES)[number];

export const VM_ACTIONS = ['start', 'stop', 'restart'] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** Lowercase letters, digits and "-", starting with a letter or digit; 1–63 characters. */
export const VM_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The optional `name` of a new VM, as both create bodies take it. */
function VmNameField(): PropertyDecorator {
  const decorators = [
    ApiPropertyOptional({ example: 'web-1', pattern: VM_NAME_PATTERN.source }),
    IsOptional(),
    IsString(),
    Matches(VM_NAME_PATTERN, {
      message: 'name must be 1-63 lowercase letters, digits or "-", starting with a letter or digit',
    }),
  ];
  return (target, key) => decorators.forEach((d) => d(target, key));
}

/** The optional `nics` of a new VM, as both create bodies take it. */
function VmNicsField(): PropertyDecorator {
  const decorators = [
    ApiPropertyOptional({
      type: [VmNicRequest],
      maxItems: MAX_VM_NICS,
      description:
        "The VM's NICs, in order (the first one's address is `local_ip`). Omitted: one NIC with a generated MAC, " +
        'unless VM_NETWORK_MODE is `none`; `[]`: no NIC. Any NIC under VM_NETWORK_MODE `none` is 422; a MAC another ' +
        'VM has is 409.',
    }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_VM_NICS),
    // A NIC without a MAC gets a fresh one: only given MACs must differ.
    ArrayUnique((nic: VmNicRequest | undefined) => nic?.mac ?? Symbol('generated'), {
      message: 'nics must not repeat a MAC',
    }),
    ValidateNested({ each: true }),
    Type(() => VmNicRequest),
  ];
  return (target, key) => decorators.forEach((d) => d(target, key));
}

/** Body of `POST /vms`. */
export class CreateVmRequest {
  /** Name of an existing template. */
  @ApiProperty({ example: 'small' })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'template must be a template name' })
  template!: string;

  /** Unique VM name; defaults to `vm-<first 8 chars of the id>`. */
  @VmNameField()
  name?: string;

  /** NICs (at most 8); omitted: one NIC with a generated MAC (none under VM_NETWORK_MODE `none`); `[]`: none. */
  @VmNicsField()
  nics?: VmNicRequest[];
}

const TEMPLATE_NAME_MESSAGE = 'must be a template name';

/** The template of `POST /vms`, under Ferry's name or seed 004's. */
const TEMPLATE_FIELD = fieldAlias('template', 'vm_template');

/**
 * Body of `POST /vms`. The template goes under Ferry's name, `template`, or seed 004's, `vm_template`
 * (its clients send that); one of them is required, and when both are given they must be equal.
 */
export class CreateVmBody {
  /** Name of an existing template; required unless `vm_template` is given. */
  @ApiPropertyOptional({
    example: 'small',
    description: 'Name of an existing template. Required unless `vm_template` is given.',
  })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: `template ${TEMPLATE_NAME_MESSAGE}` })
  @TEMPLATE_FIELD.primary()
  template?: string;

  /** Seed 004's name for `template`: the same template; if both are given they must be equal. */
  @ApiPropertyOptional({
    example: 'small',
    description: "Seed 004's name for `template`. If both are given they must be equal.",
  })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: `vm_template ${TEMPLATE_NAME_MESSAGE}` })
  @TEMPLATE_FIELD.alias()
  vm_template?: string;

  /** Unique VM name; defaults to `vm-<first 8 chars of the id>`. */
  @VmNameField()
  name?: string;

  /** NICs (at most 8); omitted: one NIC with a generated MAC (none under VM_NETWORK_MODE `none`); `[]`: none. */
  @VmNicsField()
  nics?: VmNicRequest[];
}

/** The request vm-operator takes for a valid body: the template under its one name. */
export function createVmRequestOf(body: CreateVmBody): CreateVmRequest {
  const request: CreateVmRequest = { template: TEMPLATE_FIELD.valueOf(body) };
  if (body.name !== undefined) request.name = body.name;
  if (body.nics !== undefined)
    request.nics = body.nics.map((n) => (n.mac === undefined ? {} : { mac: n.mac }));
  return request;
}

/** Request naming one VM. */
export class VmIdRequest {
  /** VM id: Ferry's are UUIDs; any other safe id is looked up too, and is NOT_FOUND. */
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;
}

/** Request of `vm-operator.vm.stop`. */
export class VmStopRequest extends VmIdRequest {
  /** Skip the ACPI power-down grace and `quit` at once (a forced power-off). */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/** Query of `GET /vms`: a page of VMs, oldest first. */
export class ListVmsRequest extends PageQuery {
  /** Only VMs in this state. */
  @ApiPropertyOptional({ enum: VM_STATES })
  @IsOptional()
  @IsIn(VM_STATES)
  state?: VmState;
}

/** A VM as the API shows it. */
export class VmDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'web-1' })
  name!: string;
  /** Template name. */
  @ApiProperty({ example: 'small' })
  template!: string;
  /** The same template name under seed 004's field name; always equal to `template`. */
  @ApiProperty({ example: 'small', description: "Seed 004's name for `template`; always equal to it." })
  vm_template!: string;
  @ApiProperty({ enum: VM_STATES })
  state!: VmState;
  /**
   * The first NIC's IPv4 address from its DHCP lease (bridge mode); null while the VM is stopped, before
   * the guest has a lease, for a VM without NICs, and in user and none modes.
   */
  @ApiProperty({
    nullable: true,
    type: String,
    example: '10.213.0.57',
    description:
      "The first NIC's IPv4 address from its DHCP lease (VM_NETWORK_MODE `bridge`). Null while the VM is stopped, " +
      'until the guest has a lease, for a VM without NICs, and in `user` and `none` modes.',
  })
  local_ip!: string | null;
  /** The VM's NICs in order (empty for none); each with its MAC, model and current address. */
  @ApiProperty({ type: [VmNicDto] })
  nics!: VmNicDto[];
  /** QEMU process id while it runs; null otherwise. */
  @ApiProperty({ nullable: true, type: Number })
  pid!: number | null;
  /** How the VM last ran: kvm or tcg; null before its first start. */
  @ApiProperty({ nullable: true, enum: ['kvm', 'tcg'] })
  accelerator!: 'kvm' | 'tcg' | null;
  /** Whether the VM's QMP socket answered just now; null when the VM is not running (or in events). */
  @ApiProperty({ nullable: true, type: Boolean })
  qmp_healthy!: boolean | null;
  /** Why the last action failed; null when it did not. */
  @ApiProperty({ nullable: true, type: String })
  last_error!: string | null;
  @ApiProperty()
  created_at!: string;
  @ApiProperty()
  updated_at!: string;
}

export class VmListDto {
  @ApiProperty({ type: [VmDto] })
  items!: VmDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}

/** Reply to an action: accepted, follow the VM or its events. */
export class VmActionAcceptedDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: VM_ACTIONS })
  action!: VmAction;
  /** The state the VM entered when the action was accepted. */
  @ApiProperty({ enum: VM_STATES })
  state!: VmState;
}
