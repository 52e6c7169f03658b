import { VmInspectionError, VmNotFoundError } from '../source';
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
 * `/DC0/vm/web-1` through SearchIndex.FindByInventoryPath. Throws VmNotFoundError when not found.
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
  if (!ref) throw new VmNotFoundError(vmId);
  if (ref.type !== 'VirtualMachine') throw new VmInspectionError(`${vmId} is a ${ref.type}, not a VM`);
  return ref;
}

interface Ancestor {
  ref: MoRef;
  name: string;
  /** False for the root folder, which no inventory path names. */
  hasParent: boolean;
}

/**
 * The entities above an object, nearest first, up to the root folder, by following `parent`; null
 * when the chain breaks off (an entity removed meanwhile). A lost session still throws.
 */
async function ancestors(
  ctx: LookupContext,
  parent: MoRef | undefined,
  signal: AbortSignal,
): Promise<Ancestor[] | null> {
  const chain: Ancestor[] = [];
  try {
    for (let depth = 0; parent && depth < 64; depth++) {
      const entity = await retrieveOne(ctx.client, ctx.propertyCollector, parent, ['name', 'parent'], signal);
      const next = entity?.props.get('parent')?.moRef();
      chain.push({ ref: parent, name: entity?.props.get('name')?.text ?? '', hasParent: Boolean(next) });
      parent = next;
    }
  } catch (err) {
    if (err instanceof SoapFault && !isSessionFault(err)) return null;
    throw err;
  }
  return chain;
}

/** Names from the top down, leaving out the root folder. */
const pathOf = (chain: Ancestor[]) =>
  chain
    .filter((a) => a.hasParent)
    .reverse()
    .map((a) => a.name);

/** `/DC0/vm/folder/name`, from the `parent` chain below the root folder; null when it breaks off. */
export async function inventoryPath(
  ctx: LookupContext,
  props: ReadonlyMap<string, XmlNode>,
  signal: AbortSignal,
): Promise<string | null> {
  const parent = props.get('parent')?.moRef();
  const chain = parent ? await ancestors(ctx, parent, signal) : null;
  return chain ? `/${[...pathOf(chain), props.get('name')?.text ?? ''].join('/')}` : null;
}

/**
 * The inventory path of the datacenter an entity (a VM, a datastore) is in, without the leading
 * slash: `DC0`, or `Folder1/DC0` in a folder. It is the `dcPath` of datastore file URLs. Null when
 * no Datacenter is above it or the chain breaks off.
 */
export async function datacenterPath(
  ctx: LookupContext,
  props: ReadonlyMap<string, XmlNode>,
  signal: AbortSignal,
): Promise<string | null> {
  const chain = await ancestors(ctx, props.get('parent')?.moRef(), signal);
  const at = chain?.findIndex((a) => a.ref.type === 'Datacenter') ?? -1;
  return at < 0 ? null : pathOf(chain!.slice(at)).join('/');
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
