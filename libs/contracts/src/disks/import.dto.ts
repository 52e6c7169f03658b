import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';
import { INSPECTOR_VM_ID_PATTERN, VcenterCredentials } from '../inspector/inspector.dto';
import { DISK_FORMATS, DISK_NAME_PATTERN } from './disk.dto';
import type { DiskFormat } from './disk.dto';

export const IMPORT_SOURCE_TYPES = ['vsphere', 'file', 'url'] as const;
export type ImportSourceType = (typeof IMPORT_SOURCE_TYPES)[number];

const isType =
  (...types: ImportSourceType[]) =>
  (s: ImportSourceDto) =>
    types.includes(s.type);

/**
 * vsphere: the device key (digits, required); file and url: an OVA/OVF's disk by 1-based index or
 * file name (optional).
 */
const IsImportDisk = (): PropertyDecorator =>
  ValidateBy({
    name: 'isImportDisk',
    validator: {
      validate: (v: unknown, args) => {
        if ((args?.object as ImportSourceDto).type === 'vsphere')
          return typeof v === 'string' && /^\d{1,10}$/.test(v);
        if (v === undefined) return true;
        return (
          (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1024) ||
          // eslint-disable-next-line no-control-regex -- control characters are what it refuses
          (typeof v === 'string' && /^[^\0-\x1f\x7f/\\]{1,255}$/.test(v))
        );
      },
      defaultMessage: (args) =>
        (args?.object as ImportSourceDto).type === 'vsphere'
          ? 'disk must be the device key of the VM\'s disk, e.g. "2000"'
          : 'disk must be a 1-based index or a file name of the OVA/OVF',
    },
  });

/**
 * Where an import's bytes come from. `vsphere`: one disk of a vCenter VM, by device key (read under a
 * snapshot when it runs); `file`: an image under one of `VOLUME_IMPORT_DIRS`; `url`: an image over
 * https. Fields of another type than the one named are refused.
 */
export class ImportSourceDto {
  @ApiProperty({ enum: IMPORT_SOURCE_TYPES })
  @IsIn(IMPORT_SOURCE_TYPES)
  type!: ImportSourceType;

  /** vsphere: the vCenter to read from (never stored by volume-daemon; the inspector holds it for the export). */
  @ApiPropertyOptional({
    type: VcenterCredentials,
    description: 'vsphere: required unless `exportId` is given.',
  })
  @ValidateIf((s: ImportSourceDto) => s.type === 'vsphere' && s.exportId === undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => VcenterCredentials)
  VcenterCredentials?: VcenterCredentials;

  /** vsphere: an export the caller opened (`inspector.export.open`) and will close; instead of credentials. */
  @ApiPropertyOptional({ format: 'uuid' })
  @ValidateIf((s: ImportSourceDto) => s.exportId !== undefined)
  @IsUUID()
  exportId?: string;

  /** vsphere: the VM, by MoRef (`vm-1001`) or inventory path. */
  @ApiPropertyOptional({ example: 'vm-1001', description: 'vsphere: required.' })
  @ValidateIf(isType('vsphere'))
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'vmId must be 1-512 printable characters' })
  vmId?: string;

  /**
   * vsphere: the disk's device key (`"2000"`); file and url: for an OVA/OVF with several disks, the
   * disk's 1-based index or file name.
   */
  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'integer' }],
    example: '2000',
    description:
      'vsphere: the device key (required). file/url: which disk of an OVA/OVF (index from 1 or file name).',
  })
  @IsImportDisk()
  disk?: string | number;

  /** file: an absolute path under one of `VOLUME_IMPORT_DIRS`. */
  @ApiPropertyOptional({ example: '/imports/web01.ova', description: 'file: required.' })
  @ValidateIf(isType('file'))
  @IsString()
  @MaxLength(4096)
  @Matches(/^\/[^\0]*$/, { message: 'path must be an absolute path' })
  path?: string;

  /** url: where the image is (https unless `VOLUME_IMPORT_ALLOW_HTTP`). */
  @ApiPropertyOptional({ example: 'https://images.example.com/web01.vmdk', description: 'url: required.' })
  @ValidateIf(isType('url'))
  @IsString()
  @MaxLength(4096)
  @Matches(/^https?:\/\/[^\s/?#]+[^\s]*$/, { message: 'url must be an http(s) URL' })
  url?: string;
}

/** Which fields each source type takes (everything else is refused by name). */
export const IMPORT_SOURCE_FIELDS: Record<ImportSourceType, readonly string[]> = {
  vsphere: ['type', 'VcenterCredentials', 'exportId', 'vmId', 'disk'],
  file: ['type', 'path', 'disk'],
  url: ['type', 'url', 'disk'],
};

/** Body of `POST /disks/import` and the request of `volume-daemon.disk.import`. */
export class ImportDiskRequest {
  @ApiProperty({ type: ImportSourceDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ImportSourceDto)
  source!: ImportSourceDto;

  /** Default: `<vm name>-disk<N>` (vsphere, N the disk's place on the VM) or `disk-<id8>`. */
  @ApiPropertyOptional({ example: 'web01-disk1', pattern: DISK_NAME_PATTERN.source })
  @ValidateIf((b: ImportDiskRequest) => b.name !== undefined)
  @IsString()
  @Matches(DISK_NAME_PATTERN, {
    message: 'name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name?: string;

  @ApiPropertyOptional({ enum: DISK_FORMATS, default: 'qcow2' })
  @IsOptional()
  @IsIn(DISK_FORMATS)
  format?: DiskFormat;

  /**
   * The VM (id or name) the verified disk is attached to. Default: the appliance VM
   * (`VOLUME_APPLIANCE_VM`) for a vsphere import, none otherwise; `null`: none.
   */
  @ApiPropertyOptional({
    ...RESOURCE_ID_API,
    nullable: true,
    description:
      'VM id or name to attach the verified disk to; default the appliance VM for vsphere, null for none.',
  })
  @ValidateIf((b: ImportDiskRequest) => b.attach_to !== undefined && b.attach_to !== null)
  @IsResourceId()
  attach_to?: string | null;
}

/** The fields of `source` that its type does not take, for a VALIDATION naming them. */
export function foreignSourceFields(source: ImportSourceDto): string[] {
  const allowed = IMPORT_SOURCE_FIELDS[source.type] ?? [];
  return Object.keys(source).filter((k) => !allowed.includes(k) && (source as never)[k] !== undefined);
}
