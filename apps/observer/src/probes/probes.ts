/**
 * What the observer can see of reality on this host. Each probe is read-only and bounded in time;
 * implementations live next to this file. (Interfaces first: the sweep is written against them.)
 */

/** A QEMU process as the process table shows it. */
export interface QemuProcess {
  pid: number;
  /** The VM id from `-name ferry-<id>,process=ferry-<id>`, when the process is one of Ferry's. */
  vmId: string | null;
  /** The `-pidfile` argument, when given. */
  pidFile: string | null;
}

/** A VM's QEMU, found through its pid file in `<runtimeDir>/<vmId>/qemu.pid`. */
export interface VmProcessState {
  /** The pid in the pid file, or null when there is no readable pid file. */
  pid: number | null;
  /** true when that pid runs (not a zombie) and is this VM's QEMU (`-name ferry-<vmId>`). */
  alive: boolean;
  /** Why it is not alive, for the issue's `observed` value: `no pid file`, `no process 123`, `zombie 123`, `pid 123 is not this VM's QEMU`. */
  reason: string | null;
}

/** One block device QEMU has plugged in (QMP `query-block`). */
export interface QmpBlockDevice {
  /** The qdev id, e.g. `vol-<disk id>` (from `qdev` like `/machine/peripheral/vol-…/virtio-backend` or `vol-…`). */
  deviceId: string;
  /** The image file open on it, if a medium is inserted. */
  file: string | null;
  /** What QEMU says the image is (its format and virtual size), when it says. */
  image?: ImageInfo;
}

export interface QmpAnswer {
  /** `query-status`'s `status`, e.g. `running`, `paused`, `shutdown`. */
  status: string;
  blockDevices: QmpBlockDevice[];
}

/** `qemu-img info -U --output=json` of an image: what the file really is. */
export interface ImageInfo {
  format: string;
  virtualSize: number;
}
