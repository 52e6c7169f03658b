/** What vSphere says about a VM, read over SOAP (RetrievePropertiesEx) from the VM and its snapshot. */
export interface VsphereVmFacts {
  /** MoRef value, e.g. `vm-42`. */
  moref: string;
  name: string;
  /** Inventory path, e.g. `/DC0/vm/DC0_H0_VM0`, when it could be read. */
  inventoryPath: string | null;
  instanceUuid: string | null;
  /** `config.guestId`, e.g. `otherGuest64`, `rhel9_64Guest`. */
  guestId: string | null;
  guestFullName: string | null;
  /** `bios` or `efi` (`config.firmware`). */
  firmware: 'bios' | 'efi' | null;
  /** `config.bootOptions.efiSecureBootEnabled`; false on BIOS VMs. */
  secureBoot: boolean | null;
  /** `runtime.powerState`: poweredOn, poweredOff or suspended. */
  powerState: string | null;
  /** `guest.toolsStatus` (toolsOk, toolsOld, toolsNotRunning, toolsNotInstalled). */
  toolsStatus: string | null;
  toolsRunningStatus: string | null;
  numCpu: number | null;
  memoryMB: number | null;
  /** `config.version`, e.g. `vmx-13`. */
  hardwareVersion: string | null;
  /** `config.changeTrackingEnabled` (CBT). */
  changeTrackingEnabled: boolean | null;
  /** Snapshots the VM had before the inspector's own (the whole tree, counted). */
  snapshotCount: number;
  /** A virtual TPM device is present. */
  vTpm: boolean;
  /** The VM is encrypted (`config.keyId` set). */
  encrypted: boolean;
  /** Labels of PCI passthrough devices (DirectPath I/O, vGPU); SR-IOV NICs are among `nics`. */
  passthroughDevices: string[];
  disks: VsphereDiskFacts[];
  nics: VsphereNicFacts[];
}

export interface VsphereDiskFacts {
  key: number;
  label: string;
  /** Controller kind: pvscsi, lsilogic, lsilogic-sas, buslogic, ide, sata, nvme. */
  controller: string;
  controllerKey: number;
  busNumber: number | null;
  unitNumber: number | null;
  capacityBytes: number;
  /** The backing file, e.g. `[datastore1] vm/vm.vmdk` (an RDM's mapping file). */
  fileName: string | null;
  datastore: string | null;
  thinProvisioned: boolean | null;
  /** persistent, independent_persistent, independent_nonpersistent, nonpersistent, … */
  diskMode: string | null;
  independent: boolean;
  /** Raw device mapping: `physical` or `virtual` compatibility mode; null when not an RDM. */
  rdm: 'physical' | 'virtual' | null;
  /** The backing's sharing: sharingNone or sharingMultiWriter; null when not given. */
  sharing: string | null;
  /** Controller bus sharing (noSharing, virtualSharing, physicalSharing). */
  busSharing: string | null;
  /** The disk is encrypted (its backing has a `keyId`). */
  encrypted: boolean;
}

export interface VsphereNicFacts {
  key: number;
  label: string;
  /** vmxnet3, vmxnet2, e1000, e1000e, pcnet32, sriov, … */
  type: string;
  macAddress: string | null;
  /** The network or port group name (an opaque network's id when its name is unknown). */
  network: string | null;
  connected: boolean | null;
  startConnected: boolean | null;
}
