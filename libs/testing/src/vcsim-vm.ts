import type { VcsimProcess } from './vcsim';
import { VcsimProbe, escapeXml } from './vcsim';
import { diskKeys, reconfigureVm, vmDevices } from './vcsim-disks';

type Sim = Pick<VcsimProcess, 'url' | 'caFile' | 'username' | 'password'>;

/**
 * Shapes a vcsim VM as a test of a migration needs it: vcsim's own VMs have a 0-byte disk (nothing to
 * migrate) and random NIC MACs; a migration test wants only its real disks, a known MAC, a guest id.
 */

/** Removes every disk the VM has (its files stay on the datastore: `fileOperation` is unset). */
export async function removeAllDisks(sim: Sim, moref: string): Promise<void> {
  for (const disk of await diskKeys(sim, moref)) {
    await reconfigureVm(
      sim,
      moref,
      `<deviceChange><operation>remove</operation><device xsi:type="VirtualDisk"><key>${disk.key}</key><controllerKey>${disk.controllerKey}</controllerKey><unitNumber>${disk.unitNumber}</unitNumber><capacityInKB>0</capacityInKB></device></deviceChange>`,
      `removing disk ${disk.key} of ${moref}`,
    );
  }
}

/** The VM's NICs: key, type and MAC. */
export async function vmNics(
  sim: Sim,
  moref: string,
): Promise<{ key: number; type: string; mac: string | null }[]> {
  return (await vmDevices(sim, moref))
    .filter((d) => d.macAddress !== null)
    .map((d) => ({ key: d.key, type: d.type, mac: d.macAddress }));
}

/** Gives the VM's first NIC a manual MAC (as a guest's udev rule would have pinned it). */
export async function setNicMac(sim: Sim, moref: string, mac: string): Promise<void> {
  const [nic] = await vmNics(sim, moref);
  if (!nic) throw new Error(`VM ${moref} has no NIC`);
  await reconfigureVm(
    sim,
    moref,
    // vcsim 0.24 dereferences deviceInfo on an edit, and looks the backing's network up by name.
    `<deviceChange><operation>edit</operation><device xsi:type="${escapeXml(nic.type)}"><key>${nic.key}</key>` +
      `<deviceInfo><label>Network adapter 1</label><summary>VM Network</summary></deviceInfo>` +
      `<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName></backing>` +
      `<addressType>manual</addressType><macAddress>${escapeXml(mac)}</macAddress></device></deviceChange>`,
    `setting the MAC of ${moref}'s NIC`,
  );
}

/** Sets what vSphere says the guest is (`config.guestId`), e.g. `windows9Server64Guest`. */
export async function setGuestId(sim: Sim, moref: string, guestId: string): Promise<void> {
  await reconfigureVm(
    sim,
    moref,
    `<guestId>${escapeXml(guestId)}</guestId>`,
    `setting the guest id of ${moref}`,
  );
}

/** `runtime.powerState` as vcsim has it now: poweredOn, poweredOff or suspended. */
export async function vmPowerState(sim: Sim, moref: string): Promise<string> {
  const xml = await new VcsimProbe(sim).call(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">${escapeXml(moref)}</obj></objectSet></specSet><options/></RetrievePropertiesEx>`,
  );
  const state = /<val[^>]*>([^<]+)<\/val>/.exec(xml)?.[1];
  if (!state) throw new Error(`no power state for ${moref}: ${xml.slice(0, 300)}`);
  return state;
}
