import type { Fact } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';
import { attr, child, children, enumOf, enumValues, parseXml, sortedUnique, text, toInt, toKiB } from './xml';

export const POOL_CAPABILITIES_SOURCE = 'virsh pool-capabilities';

/** Pool types whose volume formats stand for "image formats of a file": the dir and fs pools. */
const FILE_POOLS = ['dir', 'fs'];
/** Target format values that are not image formats. */
const NOT_IMAGE_FORMATS = new Set(['none', 'dir']);

/**
 * Parses `virsh pool-capabilities`: pool types with supported='yes'; image formats are the volume
 * target formats (and default format) of the dir/fs pools, without `none` and `dir`; encryption is
 * true when those list `luks`, unknown otherwise (libvirt encrypts volumes with
 * `<encryption format='luks'>`, which pool-capabilities does not describe).
 */
export function parsePoolCapabilities(
  xml: string,
  source = POOL_CAPABILITIES_SOURCE,
): { pool_types: Fact<string[]>; image_formats: Fact<string[]>; encryption: Fact<boolean> } {
  const root = parseXml(xml, 'storagepoolCapabilities');
  const pools = children(root, 'pool');
  const supported = pools.filter((p) => attr(p, 'supported') === 'yes');
  const filePools = supported.filter((p) => FILE_POOLS.includes(attr(p, 'type') ?? ''));
  const formats = sortedUnique(
    filePools.flatMap((p) => {
      const volOptions = child(p, 'volOptions');
      const defaultFormat = attr(child(volOptions, 'defaultFormat'), 'type');
      return [
        ...enumValues(enumOf(volOptions, 'targetFormatType')),
        ...(defaultFormat ? [defaultFormat] : []),
      ];
    }),
  ).filter((f) => !NOT_IMAGE_FORMATS.has(f));
  const formatSource = `${source} (<volOptions> of the dir/fs pools)`;
  return {
    pool_types: known(sortedUnique(supported.map((p) => attr(p, 'type') ?? '').filter(Boolean)), source),
    image_formats: filePools.length
      ? known(formats, formatSource)
      : unknown(source, 'pool-capabilities lists no supported dir or fs pool'),
    encryption: formats.includes('luks')
      ? known(true, formatSource)
      : unknown(
          formatSource,
          'pool-capabilities lists no luks format; it does not describe volume encryption (<encryption format>)',
        ),
  };
}

/** From `virsh pool-dumpxml`: the pool's capacity in bytes, or undefined when not reported. */
export function parsePoolCapacity(xml: string): {
  name: string;
  type: string;
  capacityBytes: number | undefined;
} {
  const root = parseXml(xml, 'pool');
  const capacity = child(root, 'capacity');
  const value = toInt(text(capacity));
  const kib = value === undefined ? undefined : toKiB(value, attr(capacity, 'unit') ?? 'bytes');
  return {
    name: text(child(root, 'name')),
    type: attr(root, 'type') ?? '',
    capacityBytes: kib === undefined ? undefined : Math.round(kib * 1024),
  };
}
