import type { DiskFormat } from '../disks/disk.dto';
import type { InspectionConcern } from '../inspector/inspector.dto';
import type { FixOutcomeDto, GuestFixDto } from './guest-fix.dto';
import type { MigrationDto, MigrationStageName } from './migration.dto';

/** What vSphere says of the source VM, as the plan used it. */
export interface PlanSourceDto {
  vm_name: string;
  moref: string;
  /** `config.guestId`, e.g. `debian12_64Guest`. */
  guest_id: string | null;
  guest_full_name: string | null;
  /** `bios` or `efi`; null when vSphere does not say. */
  firmware: 'bios' | 'efi' | null;
  secure_boot: boolean | null;
  vtpm: boolean;
  num_cpu: number | null;
  memory_mb: number | null;
  /** As it was when the plan was made. */
  power_state: string | null;
  hardware_version: string | null;
  /** Changed Block Tracking: what a final re-read at cutover would need. */
  cbt: boolean | null;
  /** Snapshots the VM had before Ferry's own. */
  snapshot_count: number;
}

/** The guest the inspection found on the copies (seed 001 INSPECT). */
export interface PlanGuestDto {
  os_type: string | null;
  distro: string | null;
  version: string | null;
  product_name: string | null;
  arch: string | null;
  hostname: string | null;
  /** The root filesystem's device, as the appliance named it. */
  root: string | null;
  /** From the disks (an EFI system partition means UEFI). */
  firmware: 'uefi' | 'bios' | null;
  /** How many libguestfs appliance boots the inspection took. */
  appliance_boots: number;
}

/** Where the VM is to run, and why the other hosts were not chosen. */
export interface PlanPlacementDto {
  /** The host chosen; null when none fits (then a blocker says why). */
  host: string | null;
  host_id: string | null;
  /** Traits the source's facts require of the host (UEFI, Secure Boot, vTPM, machine type). */
  required_traits: string[];
  resources: { VCPU: number; MEMORY_MB: number };
  candidates: { host_name: string; score: number }[];
  rejected: { host_name: string; reasons: string[] }[];
}

/** The template the VM runs as: derived from the source unless one was given. */
export interface PlanTemplateDto {
  name: string;
  /** true: Ferry makes it from the source's facts (at FIX, not before); false: it was given and exists. */
  derived: boolean;
  cpu_count: number;
  ram_amount: number;
  machine_type: string;
  firmware: 'bios' | 'uefi';
  required_traits: string[];
}

/** One disk of the VM as it will be on KVM, in boot order. */
export interface PlanDiskDto {
  index: number;
  /** The volume (`<vm>-disk<N>`). */
  name: string;
  disk_id: string | null;
  source_key: string;
  source_file: string | null;
  size_bytes: number;
  /** The bus the disk sits on in the new VM. */
  bus: 'virtio-scsi';
  /** SCSI target on that bus (the first boots). */
  target: number;
  format: DiskFormat;
}

/** One NIC of the VM as it will be on KVM. */
export interface PlanNicDto {
  label: string;
  /** The vSphere NIC's type and MAC. */
  source_type: string;
  source_mac: string | null;
  /** The new virtio NIC's MAC (the source's, kept, when it has one). */
  mac: string;
  model: 'virtio';
}

/** Whether virt-v2v's in-place conversion runs, and why. */
export interface PlanVirtV2vDto {
  applies: boolean;
  /** Enabled by the request (`fixes`), and applicable to this guest. */
  reason: string;
}

/** PLAN's output: what will be done and where, before anything is written. */
export interface MigrationPlanDto {
  migration_id: string;
  created_at: string;
  source: PlanSourceDto;
  guest: PlanGuestDto | null;
  placement: PlanPlacementDto;
  template: PlanTemplateDto;
  disks: PlanDiskDto[];
  nics: PlanNicDto[];
  virt_v2v: PlanVirtV2vDto;
  /** Each of Ferry's fixes, as the exact edits it will make (a diff per file). */
  fixes: GuestFixDto[];
  /** What stops the migration; the migration ends `blocked` when there is any. */
  blockers: InspectionConcern[];
  /** What does not stop it but deserves a look. */
  warnings: InspectionConcern[];
}

/** A boot of the converted VM (VALIDATE's test VM, or the production VM after the cutover). */
export interface BootCheckDto {
  vm_id: string;
  vm_name: string;
  passed: boolean;
  /** From the start to the boot-success line on the console, in ms. */
  boot_ms: number | null;
  /** The address on the first NIC, when one was seen. */
  ip: string | null;
  /** The end of the serial console (at most 4 KiB). */
  console_excerpt: string;
  /** Why it did not pass. */
  reason: string | null;
}

/** One stage's timing, for the report. */
export interface StageTimingDto {
  name: MigrationStageName;
  state: string;
  duration_ms: number | null;
  attempts: number;
  detail: string | null;
}

/** Seed 001's report: the migration, its plan, what FIX did and what the boots showed. */
export interface MigrationReportDto {
  migration: MigrationDto;
  plan: MigrationPlanDto | null;
  stages: StageTimingDto[];
  /** libguestfs appliance boots across INSPECT and FIX (virt-v2v's own included). */
  appliance_boots: number;
  fix: {
    virt_v2v: { ran: boolean; duration_ms: number | null; detail: string | null };
    edits: FixOutcomeDto[];
  } | null;
  validation: BootCheckDto | null;
  cutover: (BootCheckDto & { source_powered_off_at: string | null; downtime_ms: number | null }) | null;
}

/** Reply of `cleanup.migration.report`: the report, and the same rendered as Markdown. */
export interface MigrationReportReplyDto {
  report: MigrationReportDto;
  markdown: string;
}

/** Reply of `cleanup.migration.plan`: the plan, and the same rendered as Markdown. */
export interface MigrationPlanReplyDto {
  plan: MigrationPlanDto;
  markdown: string;
}
