import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import { XMLParser } from 'fast-xml-parser';
import type { VcsimProcess } from './vcsim';
import { VcsimProbe, escapeXml } from './vcsim';

// vcsim's own VMs have 0-byte disk files. These helpers give a VM a disk with real bytes, the way a
// test of disk reads needs: a monolithicFlat VMDK (ESXi's descriptor plus `-flat.vmdk`) uploaded
// through the datastore file service and attached with ReconfigVM_Task.

type Sim = Pick<VcsimProcess, 'url' | 'caFile' | 'username' | 'password'>;

const probes = new WeakMap<Sim, VcsimProbe>();
const probeOf = (sim: Sim): VcsimProbe => {
  let probe = probes.get(sim);
  if (!probe) probes.set(sim, (probe = new VcsimProbe(sim)));
  return probe;
};

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (name) => ['VirtualDevice', 'propSet', 'objects', 'returnval'].includes(name),
});

type Node = Record<string, unknown>;
const at = (node: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((n, key) => (n as Node | undefined)?.[key], node);

/** `https://127.0.0.1:<port>/folder/dir/name.vmdk?dcPath=DC0&dsName=LocalDS_0` for `[LocalDS_0] dir/name.vmdk`. */
export function vcsimFileUrl(sim: Pick<VcsimProcess, 'url'>, fileName: string, dcPath = 'DC0'): string {
  const m = /^\[([^\]]+)\]\s*(.+)$/.exec(fileName);
  if (!m) throw new Error(`not a datastore path: ${fileName}`);
  const path = m[2]!.split('/').map(encodeURIComponent).join('/');
  const query = `dcPath=${encodeURIComponent(dcPath)}&dsName=${encodeURIComponent(m[1]!)}`;
  return `${new URL(sim.url).origin}/folder/${path}?${query}`;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS request to vcsim (trusting its certificate), with a deadline. */
export async function vcsimHttp(
  sim: Pick<VcsimProcess, 'caFile'>,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const ca = await readFile(sim.caFile);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: options.method ?? 'GET', ca, headers: options.headers, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Who `cookie` (a `Cookie` header value) is logged in to vcsim as; null when it is no session vcsim knows. */
export async function sessionUser(
  sim: Pick<VcsimProcess, 'url' | 'caFile'>,
  cookie: string,
): Promise<string | null> {
  const body =
    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
    '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet><options/></RetrievePropertiesEx>' +
    '</soapenv:Body></soapenv:Envelope>';
  const res = await vcsimHttp(sim, sim.url, {
    method: 'POST',
    headers: { cookie, 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:vim25/6.5' },
    body: Buffer.from(body),
  });
  return /<userName>([^<]+)<\/userName>/.exec(res.body.toString())?.[1] ?? null;
}

/** Puts a file on a datastore (`[LocalDS_0] dir/name.vmdk`): bytes, or the path of a local file. */
export async function uploadFile(
  sim: Sim,
  fileName: string,
  data: Buffer | string,
  dcPath = 'DC0',
): Promise<void> {
  const body = typeof data === 'string' ? await readFile(data) : data;
  const cookie = await probeOf(sim).sessionCookie();
  const res = await vcsimHttp(sim, vcsimFileUrl(sim, fileName, dcPath), {
    method: 'PUT',
    headers: { cookie, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    body,
    timeoutMs: 120_000,
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${fileName}: HTTP ${res.status}`);
}

/**
 * Like uploadFile with a path, but streams the file instead of reading it into memory (a disk of GiBs).
 * `timeoutMs` bounds the whole upload (default 10 min).
 */
export async function uploadFileStream(
  sim: Sim,
  fileName: string,
  path: string,
  options: { dcPath?: string; timeoutMs?: number } = {},
): Promise<void> {
  const { size } = await stat(path);
  const [cookie, ca] = await Promise.all([probeOf(sim).sessionCookie(), readFile(sim.caFile)]);
  const url = vcsimFileUrl(sim, fileName, options.dcPath ?? 'DC0');
  const timeoutMs = options.timeoutMs ?? 600_000;
  const req = httpsRequest(url, {
    method: 'PUT',
    ca,
    headers: { cookie, 'content-type': 'application/octet-stream', 'content-length': String(size) },
  });
  const timer = setTimeout(
    () => req.destroy(new Error(`PUT ${fileName}: not done within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const answered = new Promise<number>((resolve, reject) => {
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      });
      req.once('error', reject);
    });
    await pipeline(createReadStream(path), req);
    const status = await answered;
    if (status !== 200 && status !== 201) throw new Error(`PUT ${fileName}: HTTP ${status}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes `raw` (a raw disk image) as an ESXi-style monolithicFlat VMDK in `dir`: `<name>.vmdk`, the
 * descriptor, and `<name>-flat.vmdk`, the bytes. `qemu-img convert` does it within 60 s.
 */
export async function monolithicFlatVmdk(
  dir: string,
  name: string,
  raw: string,
): Promise<{ descriptor: string; flat: string }> {
  const descriptor = join(dir, `${name}.vmdk`);
  await runCommand(
    'qemu-img',
    ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', raw, descriptor],
    60_000,
  );
  return { descriptor, flat: join(dir, `${name}-flat.vmdk`) };
}

export interface VcsimDisk {
  key: number;
  fileName: string;
  capacityBytes: number;
  controllerKey: number;
  unitNumber: number;
  /** The backing's type, e.g. `VirtualDiskFlatVer2BackingInfo`. */
  backing: string;
}

const devicesOf = async (sim: Sim, moref: string): Promise<Node[]> => {
  const xml = await probeOf(sim).call(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.hardware.device</pathSet></propSet><objectSet><obj type="VirtualMachine">${escapeXml(moref)}</obj></objectSet></specSet><options/></RetrievePropertiesEx>`,
  );
  const returnval = at(
    parser.parse(xml),
    'Envelope',
    'Body',
    'RetrievePropertiesExResponse',
    'returnval',
  ) as Node[];
  const objects = (returnval?.[0]?.['objects'] ?? []) as Node[];
  const val = ((objects[0]?.['propSet'] ?? []) as Node[])[0]?.['val'];
  return (at(val, 'VirtualDevice') ?? []) as Node[];
};

/** The VM's disks as vcsim has them now: key, backing file, capacity, place. */
export async function diskKeys(sim: Sim, moref: string): Promise<VcsimDisk[]> {
  return (await devicesOf(sim, moref))
    .filter((d) => d['@type'] === 'VirtualDisk')
    .map((d) => ({
      key: Number(d['key']),
      fileName: String(at(d, 'backing', 'fileName') ?? ''),
      capacityBytes: Number(d['capacityInBytes'] ?? Number(d['capacityInKB'] ?? 0) * 1024),
      controllerKey: Number(d['controllerKey']),
      unitNumber: Number(d['unitNumber']),
      backing: String(at(d, 'backing', '@type') ?? ''),
    }));
}

/** Waits for a task vcsim answered with (it runs them before answering); rejects with its fault. */
async function finish(sim: Sim, response: string, what: string): Promise<void> {
  const task = /<returnval type="Task">([^<]+)<\/returnval>/.exec(response)?.[1];
  if (!task) throw new Error(`${what}: no task in ${response.slice(0, 500)}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await probeOf(sim).call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Task</type><pathSet>info</pathSet></propSet><objectSet><obj type="Task">${escapeXml(task)}</obj></objectSet></specSet><options/></RetrievePropertiesEx>`,
    );
    const state = /<state>([^<]+)<\/state>/.exec(info)?.[1];
    if (state === 'success') return;
    if (state === 'error')
      throw new Error(`${what} failed: ${/<fault [^>]*type="([^"]+)"/.exec(info)?.[1] ?? info}`);
    if (Date.now() > deadline) throw new Error(`${what}: task ${task} still ${state} after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Adds a disk backed by an existing datastore file (`VirtualDiskFlatVer2BackingInfo`, persistent) on
 * the VM's SCSI controller, at `unitNumber` or the first free unit. `fileOperation` stays unset:
 * vcsim answers FileNotFound for a single-file VMDK (it wants `-flat.vmdk` beside the descriptor)
 * and FileAlreadyExists for `create`. Returns the new disk.
 */
export async function attachDisk(
  sim: Sim,
  moref: string,
  disk: { fileName: string; capacityBytes: number; unitNumber?: number },
): Promise<VcsimDisk> {
  const devices = await devicesOf(sim, moref);
  const scsi = devices.find((d) => /SCSIController$|LsiLogic|BusLogic/.test(String(d['@type'])));
  if (!scsi) throw new Error(`VM ${moref} has no SCSI controller`);
  const controllerKey = Number(scsi['key']);
  const used = new Set(
    devices.filter((d) => Number(d['controllerKey']) === controllerKey).map((d) => Number(d['unitNumber'])),
  );
  const unit = disk.unitNumber ?? [...Array(16).keys()].find((u) => u !== 7 && !used.has(u));
  if (unit === undefined) throw new Error(`VM ${moref} has no free SCSI unit`);
  const before = new Set((await diskKeys(sim, moref)).map((d) => d.key));
  const device =
    `<device xsi:type="VirtualDisk"><key>-100</key>` +
    `<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>${escapeXml(disk.fileName)}</fileName>` +
    `<diskMode>persistent</diskMode><thinProvisioned>false</thinProvisioned></backing>` +
    `<controllerKey>${controllerKey}</controllerKey><unitNumber>${unit}</unitNumber>` +
    `<capacityInKB>${Math.ceil(disk.capacityBytes / 1024)}</capacityInKB><capacityInBytes>${disk.capacityBytes}</capacityInBytes></device>`;
  const res = await probeOf(sim).call(
    `<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${escapeXml(moref)}</_this><spec><deviceChange><operation>add</operation>${device}</deviceChange></spec></ReconfigVM_Task>`,
  );
  await finish(sim, res, `attaching ${disk.fileName} to ${moref}`);
  const added = (await diskKeys(sim, moref)).find((d) => !before.has(d.key));
  if (!added) throw new Error(`vcsim added no disk to ${moref}`);
  return added;
}

async function power(sim: Sim, moref: string, method: 'PowerOnVM_Task' | 'PowerOffVM_Task'): Promise<void> {
  const res = await probeOf(sim).call(
    `<${method} xmlns="urn:vim25"><_this type="VirtualMachine">${escapeXml(moref)}</_this></${method}>`,
  );
  await finish(sim, res, `${method} ${moref}`);
}

export const powerOff = (sim: Sim, moref: string): Promise<void> => power(sim, moref, 'PowerOffVM_Task');
export const powerOn = (sim: Sim, moref: string): Promise<void> => power(sim, moref, 'PowerOnVM_Task');

/**
 * Gives a vcsim VM a disk with `raw`'s bytes: the image as an ESXi-style monolithicFlat VMDK in `dir`,
 * both files uploaded as `fileName` (`[LocalDS_0] dir/name.vmdk`) and its `-flat.vmdk`, then attached.
 */
export async function attachRawAsDisk(
  sim: Sim,
  moref: string,
  raw: string,
  fileName: string,
  dir: string,
): Promise<VcsimDisk> {
  const name = /([^/\]\s]+)\.vmdk$/.exec(fileName)?.[1];
  if (!name) throw new Error(`not a VMDK datastore path: ${fileName}`);
  const vmdk = await monolithicFlatVmdk(dir, name, raw);
  await uploadFile(sim, fileName, vmdk.descriptor);
  await uploadFile(sim, fileName.replace(/\.vmdk$/, '-flat.vmdk'), vmdk.flat);
  const capacityBytes = (await stat(raw)).size;
  return attachDisk(sim, moref, { fileName, capacityBytes });
}

/** A VM's device as vcsim has it: its key, type, and for a NIC its MAC. */
export interface VcsimDevice {
  key: number;
  type: string;
  macAddress: string | null;
  controllerKey: number | null;
}

/** Every device of the VM (disks, NICs, controllers, …). */
export async function vmDevices(sim: Sim, moref: string): Promise<VcsimDevice[]> {
  return (await devicesOf(sim, moref)).map((d) => ({
    key: Number(d['key']),
    type: String(d['@type'] ?? ''),
    macAddress: d['macAddress'] === undefined ? null : String(d['macAddress']),
    controllerKey: d['controllerKey'] === undefined ? null : Number(d['controllerKey']),
  }));
}

/** `ReconfigVM_Task` with `spec` (the inner XML of a VirtualMachineConfigSpec), waited for. */
export async function reconfigureVm(sim: Sim, moref: string, spec: string, what: string): Promise<void> {
  const res = await probeOf(sim).call(
    `<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${escapeXml(moref)}</_this><spec>${spec}</spec></ReconfigVM_Task>`,
  );
  await finish(sim, res, what);
}
