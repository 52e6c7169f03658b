import { attr, child, children, parseXml, text, toInt } from './xml';

/** From `virsh iface-dumpxml`: the interface's name and type (`ethernet`, `bridge`, `vlan`, `bond`). */
export function parseInterfaceXml(xml: string): { name: string; type: string } {
  const root = parseXml(xml, 'interface');
  return { name: attr(root, 'name') ?? '', type: attr(root, 'type') ?? '' };
}

/** From `virsh net-dumpxml`: the bridge of a libvirt virtual network, if it has one. */
export function parseNetworkBridge(xml: string): string | undefined {
  return attr(child(parseXml(xml, 'network'), 'bridge'), 'name') || undefined;
}

/**
 * From `virsh nodedev-dumpxml`: the device's parent, the interface name of a `net` device, and the
 * total VFs of an SR-IOV physical function (`<capability type='virt_functions' maxCount>`, which
 * libvirt reports whenever the device can have VFs, enabled or not).
 */
export function parseNodeDevice(xml: string): {
  name: string;
  parent: string | undefined;
  netInterface: string | undefined;
  maxVirtualFunctions: number | undefined;
} {
  const root = parseXml(xml, 'device');
  const caps = children(root, 'capability');
  const net = caps.find((c) => attr(c, 'type') === 'net');
  const pci = caps.find((c) => attr(c, 'type') === 'pci');
  const vfs = children(pci, 'capability').find((c) => attr(c, 'type') === 'virt_functions');
  return {
    name: text(child(root, 'name')),
    parent: text(child(root, 'parent')) || undefined,
    netInterface: text(child(net, 'interface')) || undefined,
    maxVirtualFunctions:
      vfs === undefined ? undefined : (toInt(attr(vfs, 'maxCount')) ?? children(vfs, 'address').length),
  };
}
