import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A parsed XML element: child elements by name (always arrays, in document order), attributes as
 * `@_name`, text as `#text`. Elements without attributes or children parse to their text (a string).
 */
export type XmlNode = string | { [key: string]: XmlNode[] | string | undefined };

// Every element becomes an array (libvirt repeats most of them); attributes and text stay strings
// (`parseTagValue: false`, so `2.0` stays `2.0`). Comments and processing instructions are dropped.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
});

/** Parses `xml` and returns its root element named `root`; throws if the XML is malformed or another root. */
export function parseXml(xml: string, root: string): XmlNode {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(`malformed XML (line ${valid.err.line}): ${valid.err.msg}`);
  }
  const doc = parser.parse(xml) as Record<string, XmlNode[] | undefined>;
  const node = doc[root]?.[0];
  if (node === undefined) {
    const found = Object.keys(doc).filter((k) => !k.startsWith('?'));
    throw new Error(
      `expected <${root}>, found ${found.length ? found.map((k) => `<${k}>`).join(', ') : 'nothing'}`,
    );
  }
  return node;
}

/** The child elements of `node` named `name` (empty if none). */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const value = node[name];
  return Array.isArray(value) ? value : [];
}

/** The first child element named `name`. */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Follows a path of element names, taking the first match at each step. */
export function path(node: XmlNode | undefined, ...names: string[]): XmlNode | undefined {
  let current = node;
  for (const name of names) current = child(current, name);
  return current;
}

/** An attribute's value, or undefined. */
export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** The element's own text, trimmed ('' for an empty element). */
export function text(node: XmlNode | undefined): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.trim();
  const value = node['#text'];
  return typeof value === 'string' ? value.trim() : '';
}

/** The names of the element's child elements, in no particular order. */
export function childNames(node: XmlNode | undefined): string[] {
  if (node === undefined || typeof node === 'string') return [];
  return Object.keys(node).filter((k) => !k.startsWith('@_') && k !== '#text');
}

/** The `<enum name='…'>` child of `node`, if present. */
export function enumOf(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, 'enum').find((e) => attr(e, 'name') === name);
}

/** The `<value>` texts of an `<enum>` (empty for an empty enum). */
export function enumValues(node: XmlNode | undefined): string[] {
  return children(node, 'value')
    .map(text)
    .filter((v) => v !== '');
}

/** A non-negative integer from text, or undefined. */
export function toInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** Sorted, de-duplicated copy. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Converts `value` in `unit` (libvirt's unit names) to KiB; undefined for an unknown unit. */
export function toKiB(value: number, unit: string | undefined): number | undefined {
  const factor: Record<string, number> = {
    b: 1 / 1024,
    bytes: 1 / 1024,
    k: 1,
    kib: 1,
    kb: 1000 / 1024,
    m: 1024,
    mib: 1024,
    mb: 1e6 / 1024,
    g: 1024 * 1024,
    gib: 1024 * 1024,
    gb: 1e9 / 1024,
    t: 1024 ** 3,
    tib: 1024 ** 3,
    tb: 1e12 / 1024,
  };
  const f = factor[(unit ?? 'KiB').toLowerCase()];
  return f === undefined ? undefined : value * f;
}
