import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { VmIdRequest } from './vm.dto';

/** The most of a console log one request returns: 1 MiB. */
export const CONSOLE_TAIL_MAX_BYTES = 1024 * 1024;
/** What a request returns when it names no size: 64 KiB. */
export const CONSOLE_TAIL_DEFAULT_BYTES = 64 * 1024;

/** `current`: the log since the VM's last start; `previous`: the boot before it (`serial.log.1`). */
export const CONSOLE_BOOTS = ['current', 'previous'] as const;
export type ConsoleBoot = (typeof CONSOLE_BOOTS)[number];

const TAIL_DESCRIPTION =
  'How many bytes of the end of the log to return (1 to 1048576, default 65536). The reply may hold fewer: ' +
  'it is also cut so that it fits in one NATS message (about 1 MiB once encoded).';
const BOOT_DESCRIPTION =
  '`current` (default): since the last start. `previous`: the boot before it, kept when the VM started again ' +
  '(the last boot before a crash or a restart).';

/** Request of `vm-operator.vm.console`. */
export class VmConsoleRequest extends VmIdRequest {
  /** Bytes of the log's end to return: an integer, 1 to 1 MiB; default 64 KiB. */
  @ApiPropertyOptional({
    minimum: 1,
    maximum: CONSOLE_TAIL_MAX_BYTES,
    default: CONSOLE_TAIL_DEFAULT_BYTES,
    description: TAIL_DESCRIPTION,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(CONSOLE_TAIL_MAX_BYTES)
  tailBytes?: number;

  /** Which boot's log; default `current`. */
  @ApiPropertyOptional({ enum: CONSOLE_BOOTS, default: 'current', description: BOOT_DESCRIPTION })
  @IsOptional()
  @IsIn(CONSOLE_BOOTS)
  boot?: ConsoleBoot;
}

/** Query of `GET /vms/{id}/console`. */
export class VmConsoleQuery {
  /** Bytes of the log's end to return: an integer, 1 to 1 MiB; default 64 KiB. */
  @ApiPropertyOptional({
    minimum: 1,
    maximum: CONSOLE_TAIL_MAX_BYTES,
    default: CONSOLE_TAIL_DEFAULT_BYTES,
    description: TAIL_DESCRIPTION,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(CONSOLE_TAIL_MAX_BYTES)
  tail?: number;

  /** Which boot's log; default `current`. */
  @ApiPropertyOptional({ enum: CONSOLE_BOOTS, default: 'current', description: BOOT_DESCRIPTION })
  @IsOptional()
  @IsIn(CONSOLE_BOOTS)
  boot?: ConsoleBoot;
}

/** The end of a VM's serial console (ttyS0) log. */
export class VmConsoleDto {
  /** The VM's id. */
  @ApiProperty({ format: 'uuid' })
  id!: string;

  /**
   * The log's last bytes as UTF-8: invalid bytes are U+FFFD, carriage returns are removed, other control
   * characters (terminal escapes) are kept. Empty when the VM never started or its guest wrote nothing.
   */
  @ApiProperty({
    description:
      'The end of the log as UTF-8: invalid bytes become U+FFFD, carriage returns are removed, other control ' +
      'characters (terminal escapes) are kept. Empty when the VM never started or the guest wrote nothing yet.',
  })
  text!: string;

  /** Size of the whole log in bytes (all the guest wrote since that boot's start); 0 when there is none. */
  @ApiProperty({ minimum: 0, description: 'Size of the whole log in bytes; 0 when there is none.' })
  bytes!: number;

  /** True when `text` is only the end of the log: the log holds more than was returned. */
  @ApiProperty({
    description: 'True when `text` is only the end of the log: it holds more than was returned.',
  })
  truncated!: boolean;

  /** When the guest last wrote to the log (its mtime, ISO 8601); null when there is no log. */
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the guest last wrote to the log; null when there is none.',
  })
  updated_at!: string | null;
}
