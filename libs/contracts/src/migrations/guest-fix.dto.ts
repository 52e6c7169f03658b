import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import type { InspectionConcern } from '../inspector/inspector.dto';

/**
 * Ferry's own guest fixes (libs/guest), besides what virt-v2v does: `by-path` (fstab, crypttab and
 * boot configuration by UUID=/PARTUUID= instead of VMware's by-path and by-id links), `vmware-tools`
 * (removed or disabled), `network` (the guest's NIC names pinned to the new MACs, static addresses
 * turned into DHCP unless kept).
 */
export const GUEST_FIX_NAMES = ['by-path', 'vmware-tools', 'network'] as const;
export type GuestFixName = (typeof GUEST_FIX_NAMES)[number];

/** Codes of the concerns a guest-fix plan raises. Stable: clients match on them. */
export const GuestFixConcernCodes = {
  /** Not a Linux guest (Windows is sealed off, seed 001): no fix is planned, never half of one. */
  UNSUPPORTED_GUEST_OS: 'GUEST_FIX_UNSUPPORTED_OS',
  /** A by-path/by-id link (or a /dev/sdX name) whose filesystem cannot be told with certainty. */
  DEVICE_UNRESOLVED: 'GUEST_FIX_DEVICE_UNRESOLVED',
  /** A file a fix must change was not read whole, or is not text: it is left alone. */
  FILE_NOT_EDITABLE: 'GUEST_FIX_FILE_NOT_EDITABLE',
  /** A NIC of the new VM matches no interface the guest configures: it comes up under its kernel name. */
  NIC_UNMAPPED: 'GUEST_FIX_NIC_UNMAPPED',
  /** A static address is kept (keep_static_ip): the new network must reach it. */
  STATIC_IP_KEPT: 'GUEST_FIX_STATIC_IP_KEPT',
  /** VMware tools stay installed (a package depends on them), disabled only. */
  VMWARE_TOOLS_KEPT: 'GUEST_FIX_VMWARE_TOOLS_KEPT',
} as const;

/** What a `FileEditDto` does to the guest's filesystem. */
export const FILE_EDIT_KINDS = ['write', 'rename', 'symlink', 'remove', 'command'] as const;
export type FileEditKind = (typeof FILE_EDIT_KINDS)[number];

/** What a path in the guest is, when it is not a regular file or absent (see `GuestFileDto.kind`). */
export const GUEST_PATH_KINDS = ['file', 'directory', 'symlink'] as const;
export type GuestPathKind = (typeof GUEST_PATH_KINDS)[number];

/** A guest path: absolute, printable, no `..` component, at most 1024 characters. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
export const GUEST_PATH_PATTERN = /^(?!.*(?:^|\/)\.\.(?:\/|$))\/[^\0-\x1f\x7f]{0,1023}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * One path of the guest as the fix planner read it (from the guest's mounted filesystems, read-only).
 * Reply-only: the inspector returns these beside the guest facts when asked for fix inputs.
 */
export interface GuestFileDto {
  /** Absolute path in the guest (`/etc/fstab`). */
  path: string;
  /**
   * The file's text (UTF-8), at most 256 KiB of it (see `truncated`); a symlink's target; null when
   * the path is absent, is a directory, or was only probed or is not text (`kind` says what it is).
   */
  content: string | null;
  /**
   * Lower-case hex SHA-256 of the whole file's bytes (even when `content` is truncated); of a
   * directory, of its `find` listing; of a symlink, of its target; null when the path is absent.
   * Fixes compare against it before they change anything (compare-and-set).
   */
  sha256: string | null;
  /** true: the file is larger than the read limit and `content` holds only its beginning (never edited). */
  truncated?: boolean;
  /** What the path is when present: `file` (regular), `directory` or `symlink` (not followed); absent when the path is. */
  kind?: GuestPathKind;
}

/**
 * One change a fix makes to the guest, with what the path held when it was planned. Applied as a
 * compare-and-set: the path as planned → the change; already as the change leaves it → skipped;
 * anything else → a conflict (the disk changed since the plan), and nothing of the plan is written.
 */
export class FileEditDto {
  /**
   * `write`: replace (or create) `path` with `content`; `rename`: move `path` to `target`;
   * `symlink`: make `path` a symlink to `target` (replacing what is there); `remove`: delete `path`;
   * `command`: run `command` in the guest (chrooted by libguestfs) while `unless_absent` exists.
   */
  @ApiProperty({ enum: FILE_EDIT_KINDS })
  @IsIn(FILE_EDIT_KINDS)
  kind!: FileEditKind;

  /** The guest path edited (a `command`: the path whose presence shows it still has work to do). */
  @ApiProperty({ example: '/etc/fstab' })
  @IsString()
  @Matches(GUEST_PATH_PATTERN, { message: 'path must be an absolute guest path' })
  path!: string;

  /**
   * SHA-256 (hex) of `path` when planned, as `GuestFileDto.sha256` computes it; null: the path was
   * absent. A `command` does not compare it (a package upgraded since the plan is still removed).
   */
  @ApiProperty({ nullable: true, type: String })
  @ValidateIf((e: FileEditDto) => e.before_sha256 !== null)
  @Matches(SHA256, { message: 'before_sha256 must be a SHA-256 in lower-case hex, or null' })
  before_sha256!: string | null;

  /** `write`: the whole new text of the file (UTF-8, at most 256 KiB); the mode and owner of an existing file are kept, a new one is 0644 root. */
  @ApiPropertyOptional()
  @ValidateIf((e: FileEditDto) => e.kind === 'write')
  @IsString()
  @MaxLength(256 * 1024)
  content?: string;

  /** `rename`: the new path; `symlink`: what the link points to (`/dev/null` to mask a unit). */
  @ApiPropertyOptional()
  @ValidateIf((e: FileEditDto) => e.kind === 'rename' || e.kind === 'symlink')
  @IsString()
  @Matches(GUEST_PATH_PATTERN, { message: 'target must be an absolute guest path' })
  target?: string;

  /** `command`: the program (absolute, in the guest) and its arguments, run without a shell. */
  @ApiPropertyOptional({ type: [String] })
  @ValidateIf((e: FileEditDto) => e.kind === 'command')
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Matches(/^[\w.+:=@/-]{1,256}$/, { each: true, message: 'command arguments must be plain words' })
  command?: string[];

  /** `command`: it runs only while this guest path exists (a package's file list: only while installed). */
  @ApiPropertyOptional()
  @ValidateIf((e: FileEditDto) => e.kind === 'command')
  @IsString()
  @Matches(GUEST_PATH_PATTERN, { message: 'unless_absent must be an absolute guest path' })
  unless_absent?: string;

  /** What the user is shown: a unified diff (context 3) for `write`; one readable line otherwise. */
  @ApiProperty()
  @IsString()
  @MaxLength(1024 * 1024)
  diff!: string;
}

/** One of Ferry's guest fixes as planned: the exact edits, in the order they are applied. */
export class GuestFixDto {
  @ApiProperty({ enum: GUEST_FIX_NAMES })
  @IsIn(GUEST_FIX_NAMES)
  name!: GuestFixName;

  /** One line for the user (`Mount filesystems by UUID instead of /dev/disk/by-path`). */
  @ApiProperty()
  @IsString()
  @MaxLength(512)
  title!: string;

  /** The edits, applied in this order; empty when nothing needs doing (the notes say why). */
  @ApiProperty({ type: [FileEditDto] })
  @IsArray()
  @ArrayMaxSize(256)
  @ValidateNested({ each: true })
  @Type(() => FileEditDto)
  edits!: FileEditDto[];

  /** Every decision the planner made, in a sentence each (how a by-path link was resolved, what was left alone and why). */
  @ApiProperty({ type: [String] })
  @IsArray()
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @MaxLength(2048, { each: true })
  notes!: string[];
}

/** What `planGuestFixes` (libs/guest) returns: the fixes, and what stops or deserves a look. */
export interface GuestFixPlanDto {
  /** One per enabled fix that applies to the guest, in GUEST_FIX_NAMES order (edits may be empty). */
  fixes: GuestFixDto[];
  /** What the fixes cannot do with certainty (an ambiguous by-path link, a Windows guest): the migration stops. */
  blockers: InspectionConcern[];
  /** What they did not do, or did with less than certainty, and the boot may feel. */
  warnings: InspectionConcern[];
}

/** What a fix did, edit by edit (libs/guest `applyGuestFixes`; a migration's report). */
export interface FixOutcomeDto {
  /** The fix the edit belongs to (`by-path`, …). */
  fix: string;
  /** The edit's kind (`write`, `rename`, …). */
  kind: string;
  path: string;
  /** `skipped`: the path already was as the edit leaves it. */
  outcome: 'applied' | 'skipped' | 'failed';
  /** Why it failed, or what it did. */
  detail: string;
}
