import type { SoapClient } from './soap-client';
import type { SoapFault } from './soap-fault';
import { parseLocalizedFault } from './soap-fault';
import type { MoRef, XmlNode } from './soap-xml';
import { el, moRefEl } from './soap-xml';

/** One object's properties, by property path, and the faults of those the server could not read. */
export interface ObjectContent {
  obj: MoRef;
  props: Map<string, XmlNode>;
  missing: { path: string; fault: SoapFault }[];
}

export interface PropertySpec {
  /** The managed object type, or a supertype (`ManagedEntity`). */
  type: string;
  paths: readonly string[];
}

function specSet(specs: readonly PropertySpec[], objects: readonly MoRef[]): string {
  const propSets = specs
    .map((s) => `<propSet>${el('type', s.type)}${s.paths.map((p) => el('pathSet', p)).join('')}</propSet>`)
    .join('');
  const objectSets = objects
    .map((o) => `<objectSet>${moRefEl('obj', o)}${el('skip', false)}</objectSet>`)
    .join('');
  return `<specSet>${propSets}${objectSets}</specSet>`;
}

function readObjects(result: XmlNode | undefined): ObjectContent[] {
  return (result?.all('objects') ?? []).map((o) => ({
    obj: o.child('obj')!.moRef(),
    props: new Map(o.all('propSet').map((p) => [p.str('name') ?? '', p.child('val')!] as const)),
    missing: o.all('missingSet').map((m) => ({
      path: m.str('path') ?? '',
      fault: parseLocalizedFault(m.child('fault') ?? m, 'RetrievePropertiesEx'),
    })),
  }));
}

/**
 * An expired session makes govmomi's simulator answer with a NotAuthenticated fault per property
 * (in missingSet) rather than a SOAP fault; throwing it lets the client log in again and retry.
 */
function rejectUnauthenticated(response: XmlNode): void {
  for (const o of readObjects(response.child('returnval'))) {
    const fault = o.missing.find((m) => m.fault.is('NotAuthenticated'))?.fault;
    if (fault) throw fault;
  }
}

/**
 * RetrievePropertiesEx of `specs` on `objects` (and ContinueRetrievePropertiesEx while the server
 * returns a token). A missing object fails the whole call with ManagedObjectNotFound.
 */
export async function retrieveProperties(
  client: SoapClient,
  collector: MoRef,
  specs: readonly PropertySpec[],
  objects: readonly MoRef[],
  signal?: AbortSignal,
): Promise<ObjectContent[]> {
  if (objects.length === 0) return [];
  const response = await client.call(
    'RetrievePropertiesEx',
    collector,
    `${specSet(specs, objects)}<options></options>`,
    { signal, validate: rejectUnauthenticated },
  );
  let result = response.child('returnval');
  const contents = readObjects(result);
  for (let token = result?.str('token'); token; token = result?.str('token')) {
    const next = await client.call('ContinueRetrievePropertiesEx', collector, el('token', token), { signal });
    result = next.child('returnval');
    contents.push(...readObjects(result));
  }
  return contents;
}

/** The properties of one object; undefined when the server returned nothing for it. */
export async function retrieveOne(
  client: SoapClient,
  collector: MoRef,
  obj: MoRef,
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<ObjectContent | undefined> {
  const contents = await retrieveProperties(client, collector, [{ type: obj.type, paths }], [obj], signal);
  return contents.find((c) => c.obj.value === obj.value);
}
