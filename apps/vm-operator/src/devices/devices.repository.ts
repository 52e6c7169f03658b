import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { DiskSpec } from '../drivers/qemu/qemu-args';

interface DeviceRow {
  device_id: string;
  path: string;
  format: 'qcow2' | 'raw';
  read_only: boolean;
  overlay_path: string | null;
}

/** A recorded disk, with the overlay of its snapshot while one exists. */
export interface DeviceRecord extends DiskSpec {
  overlayPath: string | null;
}

/** The only code that touches `vm_operator.vm_devices`: the disks a VM starts with. */
@Injectable()
export class DevicesRepository {
  constructor(private readonly ds: DataSource) {}

  async list(vmId: string, em?: EntityManager): Promise<DeviceRecord[]> {
    const rows: DeviceRow[] = await (em ?? this.ds).query(
      `SELECT device_id, path, format, read_only, overlay_path FROM vm_operator.vm_devices
        WHERE vm_id = $1 ORDER BY attached_at, device_id`,
      [vmId],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      path: r.path,
      format: r.format,
      readOnly: r.read_only,
      overlayPath: r.overlay_path,
    }));
  }

  async insert(em: EntityManager, vmId: string, disk: DiskSpec): Promise<void> {
    try {
      await em.query(
        'INSERT INTO vm_operator.vm_devices (vm_id, device_id, path, format, read_only) VALUES ($1, $2, $3, $4, $5)',
        [vmId, disk.deviceId, disk.path, disk.format, disk.readOnly],
      );
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string }).code === '23505') {
        throw FerryError.conflict(`device "${disk.deviceId}" is already attached to VM ${vmId}`, {
          vmId,
          deviceId: disk.deviceId,
        });
      }
      throw err;
    }
  }

  async setOverlay(
    em: EntityManager,
    vmId: string,
    deviceId: string,
    overlayPath: string | null,
  ): Promise<void> {
    await em.query(
      'UPDATE vm_operator.vm_devices SET overlay_path = $3 WHERE vm_id = $1 AND device_id = $2',
      [vmId, deviceId, overlayPath],
    );
  }

  /** Returns false when the VM had no such device. */
  async delete(em: EntityManager, vmId: string, deviceId: string): Promise<boolean> {
    // TypeORM answers a DELETE with [rows, affected].
    const [, affected] = (await em.query(
      'DELETE FROM vm_operator.vm_devices WHERE vm_id = $1 AND device_id = $2',
      [vmId, deviceId],
    )) as [unknown, number];
    return affected > 0;
  }
}
