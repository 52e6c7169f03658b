import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsResourceId } from '../common/resource-id';
import type { GuestFacts } from '../inspector/guest-facts';
import { GuestFixDto } from '../migrations/guest-fix.dto';
import { DISK_FORMATS } from './disk.dto';
import type { DiskFormat } from './disk.dto';

/** What the fix mounts: the guest as the inspection that planned it saw it (libs/guest `mountGuest`). */
export class FixGuestFacts {
  /** The root filesystem's device as the appliance named it (`/dev/sda2`). */
  @IsString()
  @Matches(/^\/dev\/[\w/.:+-]+$/, { message: 'root must be a device path' })
  @MaxLength(256)
  root!: string;

  /** The guest's mountpoints as the inspection resolved them (`/boot` → `/dev/sda1`). */
  @IsArray()
  @ArrayMaxSize(256)
  @IsObject({ each: true })
  mountpoints!: { device: string; path: string }[];

  /** The filesystems the inspection found (device, type, UUID, label). */
  @IsArray()
  @ArrayMaxSize(1024)
  @IsObject({ each: true })
  filesystems!: GuestFacts['filesystems'];

  /** `/etc/fstab` as written, so that a `/boot` by-path is mounted as the plan resolved it. */
  @IsArray()
  @ArrayMaxSize(1024)
  @IsObject({ each: true })
  fstab!: GuestFacts['fstab'];
}

/**
 * Request of `volume-daemon.disk.fix`: one guest's disks, fixed offline together (the appliance sees
 * them in this order: sda, sdb, …). The planned edits come first, each a compare-and-set against the
 * file as the plan saw it; then virt-v2v's in-place conversion when asked (it rebuilds the bootloader
 * configuration and the initramfs from the files as Ferry fixed them).
 */
export class FixDisksRequest {
  /** The guest's disks, in the order the plan's devices name them. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  diskIds!: string[];

  @IsObject()
  @ValidateNested()
  @Type(() => FixGuestFacts)
  guest!: FixGuestFacts;

  /** Run `virt-v2v-in-place` (virtio drivers, initramfs, bootloader, device names) after the edits. */
  @IsBoolean()
  virtV2v!: boolean;

  /** The plan's fixes (libs/guest), applied in order. */
  @IsArray()
  @ArrayMaxSize(16)
  @ValidateNested({ each: true })
  @Type(() => GuestFixDto)
  fixes!: GuestFixDto[];

  /** Who asks (a migration id), recorded on the operation. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  requestedBy?: string;
}

/** Request of `volume-daemon.disk.convert`. */
export class ConvertDiskRequest {
  @IsResourceId()
  id!: string;

  @IsIn(DISK_FORMATS)
  format!: DiskFormat;
}

/** Request of `volume-daemon.operation.cancel`. */
export class CancelOperationRequest {
  @IsResourceId()
  id!: string;

  /** Why (recorded in the operation's error). */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  @Type(() => String)
  reason?: string;
}
