export * from './qmp/qmp-client';
export * from './qmp/qmp-stdio';
export * from './img/image-info';
export * from './img/qemu-img';
export * from './img/qcow2-header';
export type {
  HttpSession,
  ImportSourceReason,
  ImportSourceSpec,
  OpenImportOptions,
  OpenedSource,
} from './import/import-source';
export { ImportSourceError } from './import/import-source';
export { openImportSource } from './import/open-import-source';
export { listOvaDisks } from './import/ova-source';
export { SessionFiles } from './import/session-files';
export { startNbdServer } from './import/nbd-server';
export type { NbdServer } from './import/nbd-server';
export * from './kvm/kvm-probe';
export * from './guestfish/guestfish-session';
export * from './guestfish/libguestfs-env';
export * from './v2v/v2v-types';
export type { V2vRootChoice, V2vSourceBus } from './v2v/v2v-args';
export type { V2vRunOptions } from './v2v/v2v-run';
export { convertInPlace } from './v2v/v2v-in-place';
export type { ConvertInPlaceOptions } from './v2v/v2v-in-place';
