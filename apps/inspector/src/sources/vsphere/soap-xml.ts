import { XMLParser } from 'fast-xml-parser';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/** A managed object reference: `{type: 'VirtualMachine', value: 'vm-42'}`. */
export interface MoRef {
  type: string;
  value: string;
}

/** Escapes text and attribute values (`&`, `<`, `>`, quotes); drops characters XML 1.0 cannot carry. */
export function escapeXml(value: string): string {
  return value
    .replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** `<name>value</name>`, escaped. */
export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name type="VirtualMachine">vm-42</name>`. */
export function moRefEl(name: string, ref: MoRef): string {
  return `<${name} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${name}>`;
}

/** The whole request: `method` in the vim25 namespace, addressed to `_this`, with `params` (already XML). */
export function envelope(method: string, self: MoRef, params = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${XSI}">` +
    `<soapenv:Body><${method} xmlns="urn:vim25">${moRefEl('_this', self)}${params}</${method}></soapenv:Body>` +
    '</soapenv:Envelope>'
  );
}

/**
 * One element of a parsed response, with namespace prefixes resolved away: `name` is the local name,
 * `xsiType` the `xsi:type` whatever prefix the server bound to the XSI namespace (vCenter writes
 * `xsi:type`, govmomi's simulator `XMLSchema-instance:type`), `attrs` the unprefixed attributes (a
 * MoRef's `type`).
 */
export class XmlNode {
  constructor(
    readonly name: string,
    readonly attrs: Readonly<Record<string, string>>,
    readonly xsiType: string | null,
    readonly children: readonly XmlNode[],
    readonly text: string,
  ) {}

  child(name: string): XmlNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  all(name: string): XmlNode[] {
    return this.children.filter((c) => c.name === name);
  }

  /** Follows child names: `at('backing', 'fileName')`. */
  at(...names: string[]): XmlNode | undefined {
    return names.reduce<XmlNode | undefined>((node, name) => node?.child(name), this);
  }

  str(...names: string[]): string | null {
    const node = this.at(...names);
    return node ? node.text : null;
  }

  int(...names: string[]): number | null {
    const text = this.str(...names);
    if (text === null || text.trim() === '') return null;
    const n = Number(text);
    return Number.isFinite(n) ? n : null;
  }

  bool(...names: string[]): boolean | null {
    const text = this.str(...names)?.trim();
    return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : null;
  }

  /** This element as a MoRef (its `type` attribute and text). */
  moRef(): MoRef {
    return { type: this.attrs['type'] ?? '', value: this.text };
  }
}

type Ordered = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // Decodes numeric character references (&#233;) too.
  htmlEntities: true,
});

/** Parses a SOAP response into XmlNodes; returns the root element. Throws on malformed XML. */
export function parseXml(xml: string): XmlNode {
  const items = parser.parse(xml) as Ordered[];
  const root = convert(items, new Map()).find((n) => n.name !== '?xml');
  if (!root) throw new Error('the response holds no XML element');
  return root;
}

function convert(items: Ordered[], scope: ReadonlyMap<string, string>): XmlNode[] {
  const nodes: XmlNode[] = [];
  for (const item of items) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (!tag || tag === '#text' || tag === '#comment') continue;
    const rawAttrs = (item[':@'] ?? {}) as Record<string, string>;
    let local = scope;
    for (const [key, value] of Object.entries(rawAttrs)) {
      if (key.startsWith('xmlns:')) {
        if (local === scope) local = new Map(scope);
        (local as Map<string, string>).set(key.slice(6), value);
      }
    }
    const attrs: Record<string, string> = {};
    let xsiType: string | null = null;
    for (const [key, value] of Object.entries(rawAttrs)) {
      const colon = key.indexOf(':');
      if (colon < 0) attrs[key] = value;
      else if (key.slice(colon + 1) === 'type' && local.get(key.slice(0, colon)) === XSI) {
        xsiType = value.slice(value.indexOf(':') + 1);
      }
    }
    const content = (item[tag] ?? []) as Ordered[];
    const children = convert(content, local);
    const text = children.length
      ? ''
      : content
          .map((c) => c['#text'])
          .filter((t) => t !== undefined)
          .join('');
    nodes.push(new XmlNode(tag.slice(tag.indexOf(':') + 1), attrs, xsiType, children, text));
  }
  return nodes;
}

/** The first element of the SOAP Body (a `<Method>Response` or a `Fault`). */
export function soapBody(root: XmlNode): XmlNode | undefined {
  if (root.name !== 'Envelope') return undefined;
  return root.child('Body')?.children[0];
}
