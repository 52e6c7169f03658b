import type { XmlNode } from './soap-xml';

/**
 * A vSphere fault: a SOAP Fault answering a method, an error of a finished task, or a fault in a
 * property's missingSet. `faultType` is the vim25 type (`InvalidLogin`, `ManagedObjectNotFound`, …).
 */
export class SoapFault extends Error {
  override readonly name = 'SoapFault';

  constructor(
    readonly faultType: string,
    /** vSphere's own message (faultstring or localizedMessage); may be empty. */
    readonly faultMessage: string,
    /** The method (or task) it answered. */
    readonly method: string,
    /** The fault object, for its fields (`obj`, `existingState`, …). */
    readonly detail: XmlNode | null = null,
  ) {
    super(`${method}: ${faultType}${faultMessage ? ` (${faultMessage})` : ''}`);
  }

  is(...types: string[]): boolean {
    return types.includes(this.faultType);
  }
}

/** A fault element's vim25 type: its xsi:type, or the element name without `Fault` (`InvalidLoginFault`). */
function faultTypeOf(fault: XmlNode): string {
  return fault.xsiType ?? fault.name.replace(/Fault$/, '');
}

/** Reads a SOAP 1.1 `<Fault>` (faultcode, faultstring, detail). */
export function parseSoapFault(fault: XmlNode, method: string): SoapFault {
  const detail = fault.child('detail')?.children[0] ?? null;
  const message = fault.str('faultstring') ?? '';
  const type = detail ? faultTypeOf(detail) : (fault.str('faultcode') ?? 'UnknownFault').replace(/^.*:/, '');
  return new SoapFault(type, message.trim(), method, detail);
}

/** Reads a LocalizedMethodFault: `<error><fault xsi:type="…">…</fault><localizedMessage>…</…></error>`. */
export function parseLocalizedFault(node: XmlNode, method: string): SoapFault {
  const fault = node.child('fault');
  const message = node.str('localizedMessage') ?? '';
  return new SoapFault(fault ? faultTypeOf(fault) : 'UnknownFault', message.trim(), method, fault ?? null);
}

/** What a fault means for a whole session, rather than for one VM. */
export function isSessionFault(fault: SoapFault): boolean {
  return fault.is('NotAuthenticated', 'InvalidLogin');
}
