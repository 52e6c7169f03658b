import type { ServiceName } from '../common/services';
import type { HealthPingRequest, HealthReport } from '../health/health.dto';
import type {
  CreateTemplateRequest,
  ListTemplatesRequest,
  TemplateDeletedDto,
  TemplateDto,
  TemplateListDto,
  TemplateNameRequest,
} from '../templates/template.dto';
import type { TemplateSubjects } from '../templates/template.subjects';
import type { TemplateEventData } from '../templates/template.events';
import type {
  AttachDeviceRequest,
  AttachedDeviceDto,
  DeviceRefRequest,
  DeviceListDto,
  PowerStateDto,
  SnapshotDto,
  VmDevicesRequest,
} from '../devices/device.dto';
import type { DeviceEventData } from '../devices/device.events';
import type { DeviceSubjects } from '../devices/device.subjects';
import type {
  CreateVmRequest,
  ListVmsRequest,
  VmActionAcceptedDto,
  VmDto,
  VmIdRequest,
  VmListDto,
  VmStopRequest,
} from '../vms/vm.dto';
import type { VmConsoleDto, VmConsoleRequest } from '../vms/vm-console.dto';
import type { VmEventData } from '../vms/vm.events';
import type { VmSubjects } from '../vms/vm.subjects';
import type {
  AttachDiskRequest,
  CleanupTestFailoverRequest,
  CreateDiskRequest,
  DeleteDiskRequest,
  DetachDiskRequest,
  DetachVmDisksRequest,
  DiskDto,
  DiskIdRequest,
  DiskListDto,
  ListDisksRequest,
  OperationIdRequest,
  PowerOffRequest,
  VmPowerDto,
  VmDisksDetachedDto,
  VmPowerRequest,
  VolumeOperationDto,
} from '../disks/disk.dto';
import type { ImportDiskRequest } from '../disks/import.dto';
import type { CancelOperationRequest, ConvertDiskRequest, FixDisksRequest } from '../disks/fix.dto';
import type { DiskEventData } from '../disks/disk.events';
import type { DiskSubjects } from '../disks/disk.subjects';
import type {
  CleanupFailoverRequest,
  FailoverJobDto,
  FailoverJobIdRequest,
  FailoverJobListDto,
  ListFailoverJobsRequest,
  TestFailoverRequest,
} from '../failover/failover.dto';
import type { FailoverEventData } from '../failover/failover.events';
import type { FailoverSubjects } from '../failover/failover.subjects';
import type {
  CoherenceIssueListDto,
  CoherenceStatusDto,
  ListIssuesRequest,
} from '../coherence/coherence.dto';
import type { CoherenceEventData } from '../coherence/coherence.events';
import type { CoherenceSubjects } from '../coherence/coherence.subjects';
import type {
  CapabilitiesRequest,
  CapabilityHistoryDto,
  CapabilitySnapshotDto,
  HostDto,
  HostIdRequest,
  HostListDto,
  CapabilityHistoryRequest,
  ListHostsRequest,
  RefreshAcceptedDto,
  RegisterHostRequest,
} from '../hosts/host.dto';
import type { SeedHostCapabilityData } from '../hosts/seed-capabilities.dto';
import type {
  CatalogItemDto,
  CatalogRequest,
  ListTraitsRequest,
  TraitDto,
  TraitListDto,
} from '../hosts/catalog.dto';
import type { PlacementRequest, PlacementResultDto } from '../hosts/placement.dto';
import type { HostEventData } from '../hosts/host.events';
import type { HostSubjects } from '../hosts/host.subjects';
import type {
  AddVmsRequest,
  InspectionHistoryDto,
  InspectionHistoryRequest,
  InspectionQueueDto,
  InspectionQueueRequest,
  InspectionStatusDto,
  InspectionVmRequest,
  InspectorStatusDto,
  WireKeyDto,
  StartInspectionRequest,
} from '../inspector/inspector.dto';
import type {
  ExportIdRequest,
  ExportSessionDto,
  OpenExportRequest,
  VsphereExportDto,
} from '../inspector/export.dto';
import type { InspectorEventData } from '../inspector/inspector.events';
import type {
  GuestInspectionIdRequest,
  GuestInspectionJobDto,
  GuestInspectionRequest,
  VsphereFactsDto,
  VsphereFactsRequest,
  VspherePowerDto,
  VspherePowerRequest,
} from '../inspector/guest-inspection.dto';
import type {
  CancelMigrationRequest,
  CreateMigrationRequest,
  ListMigrationsRequest,
  MigrationDto,
  MigrationIdRequest,
  MigrationListDto,
} from '../migrations/migration.dto';
import type { MigrationPlanReplyDto, MigrationReportReplyDto } from '../migrations/migration-plan.dto';
import type { MigrationEventData } from '../migrations/migration.events';
import type { MigrationSubjects } from '../migrations/migration.subjects';
import type { InspectorSubjects } from '../inspector/inspector.subjects';

export interface Rpc<Req, Rep> {
  request: Req;
  reply: Rep;
}

type HealthRpc = { [S in ServiceName as `${S}.health.ping`]: Rpc<HealthPingRequest, HealthReport> };

interface TemplateRpc {
  [TemplateSubjects.CREATE]: Rpc<CreateTemplateRequest, TemplateDto>;
  [TemplateSubjects.LIST]: Rpc<ListTemplatesRequest, TemplateListDto>;
  [TemplateSubjects.GET]: Rpc<TemplateNameRequest, TemplateDto>;
  [TemplateSubjects.DELETE]: Rpc<TemplateNameRequest, TemplateDeletedDto>;
}

interface VmRpc {
  [VmSubjects.CREATE]: Rpc<CreateVmRequest, VmDto>;
  [VmSubjects.LIST]: Rpc<ListVmsRequest, VmListDto>;
  [VmSubjects.GET]: Rpc<VmIdRequest, VmDto>;
  [VmSubjects.DELETE]: Rpc<VmIdRequest, { id: string }>;
  [VmSubjects.START]: Rpc<VmIdRequest, VmActionAcceptedDto>;
  [VmSubjects.STOP]: Rpc<VmStopRequest, VmActionAcceptedDto>;
  [VmSubjects.RESTART]: Rpc<VmIdRequest, VmActionAcceptedDto>;
  [VmSubjects.RECONCILE]: Rpc<VmIdRequest, VmDto>;
  [VmSubjects.CONSOLE]: Rpc<VmConsoleRequest, VmConsoleDto>;
}

interface DeviceRpc {
  [DeviceSubjects.ATTACH]: Rpc<AttachDeviceRequest, AttachedDeviceDto>;
  [DeviceSubjects.DETACH]: Rpc<DeviceRefRequest, { deviceId: string }>;
  [DeviceSubjects.LIST]: Rpc<VmDevicesRequest, DeviceListDto>;
  [DeviceSubjects.POWER_STATE]: Rpc<VmDevicesRequest, PowerStateDto>;
  [DeviceSubjects.SNAPSHOT]: Rpc<DeviceRefRequest, SnapshotDto>;
  [DeviceSubjects.CONSOLIDATE]: Rpc<DeviceRefRequest, { deviceId: string }>;
}

interface DiskRpc {
  [DiskSubjects.CREATE]: Rpc<CreateDiskRequest, DiskDto>;
  [DiskSubjects.LIST]: Rpc<ListDisksRequest, DiskListDto>;
  [DiskSubjects.GET]: Rpc<DiskIdRequest, DiskDto>;
  [DiskSubjects.DELETE]: Rpc<DeleteDiskRequest, { id: string }>;
  [DiskSubjects.ATTACH]: Rpc<AttachDiskRequest, VolumeOperationDto>;
  [DiskSubjects.DETACH]: Rpc<DetachDiskRequest, VolumeOperationDto>;
  [DiskSubjects.IMPORT]: Rpc<ImportDiskRequest, VolumeOperationDto>;
  [DiskSubjects.OPERATION_GET]: Rpc<OperationIdRequest, VolumeOperationDto>;
  [DiskSubjects.RECONCILE]: Rpc<DiskIdRequest, DiskDto>;
  [DiskSubjects.POWER_STATE]: Rpc<VmPowerRequest, VmPowerDto>;
  [DiskSubjects.VALIDATE_POWERED_OFF]: Rpc<VmPowerRequest, VmPowerDto>;
  [DiskSubjects.POWER_OFF]: Rpc<PowerOffRequest, VmPowerDto>;
  [DiskSubjects.CLEANUP_TEST_FAILOVER]: Rpc<CleanupTestFailoverRequest, VolumeOperationDto>;
  [DiskSubjects.DETACH_VM_DISKS]: Rpc<DetachVmDisksRequest, VmDisksDetachedDto>;
  [DiskSubjects.FIX]: Rpc<FixDisksRequest, VolumeOperationDto>;
  [DiskSubjects.CONVERT]: Rpc<ConvertDiskRequest, VolumeOperationDto>;
  [DiskSubjects.OPERATION_CANCEL]: Rpc<CancelOperationRequest, VolumeOperationDto>;
}

interface FailoverRpc {
  [FailoverSubjects.TEST]: Rpc<TestFailoverRequest, FailoverJobDto>;
  [FailoverSubjects.CLEANUP]: Rpc<CleanupFailoverRequest, FailoverJobDto>;
  [FailoverSubjects.JOB_LIST]: Rpc<ListFailoverJobsRequest, FailoverJobListDto>;
  [FailoverSubjects.JOB_GET]: Rpc<FailoverJobIdRequest, FailoverJobDto>;
  [FailoverSubjects.JOB_RESUME]: Rpc<FailoverJobIdRequest, FailoverJobDto>;
}

interface CoherenceRpc {
  [CoherenceSubjects.STATUS]: Rpc<Record<string, never>, CoherenceStatusDto>;
  [CoherenceSubjects.SWEEP]: Rpc<Record<string, never>, CoherenceStatusDto>;
  [CoherenceSubjects.ISSUE_LIST]: Rpc<ListIssuesRequest, CoherenceIssueListDto>;
}

interface HostRpc {
  [HostSubjects.REGISTER]: Rpc<RegisterHostRequest, HostDto>;
  [HostSubjects.LIST]: Rpc<ListHostsRequest, HostListDto>;
  [HostSubjects.GET]: Rpc<HostIdRequest, HostDto>;
  [HostSubjects.DELETE]: Rpc<HostIdRequest, { id: string }>;
  [HostSubjects.CAPABILITIES_GET]: Rpc<CapabilitiesRequest, CapabilitySnapshotDto>;
  [HostSubjects.CAPABILITIES_GET_SEED_VIEW]: Rpc<CapabilitiesRequest, SeedHostCapabilityData>;
  [HostSubjects.CAPABILITIES_HISTORY]: Rpc<CapabilityHistoryRequest, CapabilityHistoryDto>;
  [HostSubjects.CAPABILITIES_REFRESH]: Rpc<HostIdRequest, RefreshAcceptedDto>;
  [HostSubjects.TRAIT_LIST]: Rpc<ListTraitsRequest, TraitListDto>;
  [HostSubjects.TRAIT_GET]: Rpc<{ name: string }, TraitDto>;
  [HostSubjects.CATALOG_PUT]: Rpc<CatalogRequest, CatalogItemDto>;
  [HostSubjects.CATALOG_LIST]: Rpc<CatalogRequest, { items: CatalogItemDto[]; next_cursor: string | null }>;
  [HostSubjects.CATALOG_GET]: Rpc<CatalogRequest, CatalogItemDto>;
  [HostSubjects.CATALOG_DELETE]: Rpc<CatalogRequest, { name: string }>;
  [HostSubjects.PLACEMENT_CANDIDATES]: Rpc<PlacementRequest, PlacementResultDto>;
}

interface InspectorRpc {
  [InspectorSubjects.WIRE_KEY]: Rpc<Record<string, never>, WireKeyDto>;
  [InspectorSubjects.START]: Rpc<StartInspectionRequest, InspectorStatusDto>;
  [InspectorSubjects.STATUS]: Rpc<Record<string, never>, InspectorStatusDto>;
  [InspectorSubjects.ADD]: Rpc<AddVmsRequest, InspectorStatusDto>;
  [InspectorSubjects.STOP]: Rpc<Record<string, never>, InspectorStatusDto>;
  [InspectorSubjects.VM_STATUS]: Rpc<InspectionVmRequest, InspectionStatusDto>;
  [InspectorSubjects.VM_CANCEL]: Rpc<InspectionVmRequest, InspectionStatusDto>;
  [InspectorSubjects.VM_HISTORY]: Rpc<InspectionHistoryRequest, InspectionHistoryDto>;
  [InspectorSubjects.QUEUE]: Rpc<InspectionQueueRequest, InspectionQueueDto>;
  [InspectorSubjects.EXPORT_OPEN]: Rpc<OpenExportRequest, VsphereExportDto>;
  [InspectorSubjects.EXPORT_SESSION]: Rpc<ExportIdRequest, ExportSessionDto>;
  [InspectorSubjects.EXPORT_GET]: Rpc<ExportIdRequest, VsphereExportDto>;
  [InspectorSubjects.EXPORT_CLOSE]: Rpc<ExportIdRequest, VsphereExportDto>;
  [InspectorSubjects.VSPHERE_FACTS]: Rpc<VsphereFactsRequest, VsphereFactsDto>;
  [InspectorSubjects.VSPHERE_POWER]: Rpc<VspherePowerRequest, VspherePowerDto>;
  [InspectorSubjects.GUEST_INSPECT]: Rpc<GuestInspectionRequest, GuestInspectionJobDto>;
  [InspectorSubjects.GUEST_GET]: Rpc<GuestInspectionIdRequest, GuestInspectionJobDto>;
}

interface MigrationRpc {
  [MigrationSubjects.CREATE]: Rpc<CreateMigrationRequest, MigrationDto>;
  [MigrationSubjects.LIST]: Rpc<ListMigrationsRequest, MigrationListDto>;
  [MigrationSubjects.GET]: Rpc<MigrationIdRequest, MigrationDto>;
  [MigrationSubjects.PLAN]: Rpc<MigrationIdRequest, MigrationPlanReplyDto>;
  [MigrationSubjects.REPORT]: Rpc<MigrationIdRequest, MigrationReportReplyDto>;
  [MigrationSubjects.CUTOVER]: Rpc<MigrationIdRequest, MigrationDto>;
  [MigrationSubjects.CANCEL]: Rpc<CancelMigrationRequest, MigrationDto>;
}

/** Every request/reply subject with its request and reply types; `send()` is checked against it. */
export type RpcMap = HealthRpc &
  TemplateRpc &
  VmRpc &
  DeviceRpc &
  DiskRpc &
  FailoverRpc &
  CoherenceRpc &
  HostRpc &
  InspectorRpc &
  MigrationRpc;
export type RpcSubject = keyof RpcMap;
export type RequestOf<S extends RpcSubject> = RpcMap[S]['request'];
export type ReplyOf<S extends RpcSubject> = RpcMap[S]['reply'];

/** Every event type with the type of its `data`. */
export type EventDataMap = TemplateEventData &
  VmEventData &
  DeviceEventData &
  DiskEventData &
  FailoverEventData &
  CoherenceEventData &
  HostEventData &
  InspectorEventData &
  MigrationEventData;
export type EventType = keyof EventDataMap;
