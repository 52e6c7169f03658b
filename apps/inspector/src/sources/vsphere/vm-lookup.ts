import { VmInspectionError } from '../source';
import { retrieveOne, retrieveProperties } from './property-collector';
import type { SoapClient } from './soap-client';
import { SoapFault, isSessionFault } from './soap-fault';
import type { MoRef, XmlNode } from './soap-xml';
import { el } from './soap-xml';

/** What the lookups need of a session. */
export interface LookupContext {
  client: SoapClient;
  propertyCollector: MoRef;
  searchIndex: MoRef;
}

/**
 * A VM id as a MoRef: `vm-42` (or an ESXi host's `42`) as is, existence checked by whatever uses it;
 * `/DC0/vm/web-1` through SearchIndex.FindByInventoryPath. Throws VmInspectionError when not found.
 */
export async function resolveVm(ctx: LookupContext, vmId: string, signal?: AbortSignal): Promise<MoRef> {
  if (!vmId.startsWith('/')) return { type: 'VirtualMachine', value: vmId };
  const res = await ctx.client.call(
    'FindByInventoryPath',
    ctx.searchIndex,
    el('inventoryPath', vmId.slice(1)),
    {
      signal,
    },
  );
  const ref = res.child('returnval')?.moRef();
  if (!ref) throw new VmInspectionError(`VM ${vmId} not found`);
  if (ref.type !== 'VirtualMachine') throw new VmInspectionError(`${vmId} is a ${ref.type}, not a VM`);
  return ref;
}

/** `/DC0/vm/folder/name`, from the `parent` chain below the root folder; null when it breaks off. */
export async function inventoryPath(
  ctx: LookupContext,
  props: ReadonlyMap<string, XmlNode>,
  signal: AbortSignal,
): Promise<string | null> {
  const names = [props.get('name')?.text ?? ''];
  let parent = props.get('parent')?.moRef();
  if (!parent) return null;
  try {
    for (let depth = 0; parent && depth < 64; depth++) {
      const entity = await retrieveOne(ctx.client, ctx.propertyCollector, parent, ['name', 'parent'], signal);
      parent = entity?.props.get('parent')?.moRef();
      if (parent) names.unshift(entity!.props.get('name')?.text ?? '');
    }
  } catch (err) {
    if (err instanceof SoapFault && !isSessionFault(err)) return null;
    throw err;
  }
  return `/${names.join('/')}`;
}

/** Names of the VM's networks (its `network` property), by MoRef value and by port group key. */
export async function networkNames(
  ctx: LookupContext,
  network: XmlNode | undefined,
  signal: AbortSignal,
): Promise<Map<string, string>> {
  const refs = network?.children.map((n) => n.moRef()) ?? [];
  const names = new Map<string, string>();
  const specs = [
    { type: 'Network', paths: ['name'] },
    { type: 'DistributedVirtualPortgroup', paths: ['key'] },
  ];
  try {
    for (const o of await retrieveProperties(ctx.client, ctx.propertyCollector, specs, refs, signal)) {
      const name = o.props.get('name')?.text;
      if (!name) continue;
      names.set(o.obj.value, name);
      const key = o.props.get('key')?.text;
      if (key) names.set(key, name);
    }
  } catch (err) {
    // A network removed meanwhile: NICs fall back to their backing's names.
    if (!(err instanceof SoapFault) || isSessionFault(err)) throw err;
  }
  return names;
}
