import { parseInterfaceXml, parseNetworkBridge, parseNodeDevice } from './network-xml';

describe('network XML', () => {
  it('reads an interface’s name and type', () => {
    expect(parseInterfaceXml(`<interface type='bridge' name='br0'><bridge stp='off'/></interface>`)).toEqual({
      name: 'br0',
      type: 'bridge',
    });
    expect(
      parseInterfaceXml(`<interface type='ethernet' name='eth0'><mtu size='1400'/></interface>`).type,
    ).toBe('ethernet');
  });

  it('reads a network’s bridge', () => {
    expect(
      parseNetworkBridge(`<network><name>default</name><bridge name='virbr0' stp='on'/></network>`),
    ).toBe('virbr0');
    expect(parseNetworkBridge(`<network><name>isolated</name></network>`)).toBeUndefined();
  });

  it('reads a net device’s interface and parent, and a PCI PF’s total VFs', () => {
    const net =
      parseNodeDevice(`<device><name>net_eth0_02_fc_00_00_00_01</name><parent>pci_0000_00_03_0</parent>
      <capability type='net'><interface>eth0</interface><address>02:fc:00:00:00:01</address></capability></device>`);
    expect(net).toEqual({
      name: 'net_eth0_02_fc_00_00_00_01',
      parent: 'pci_0000_00_03_0',
      netInterface: 'eth0',
      maxVirtualFunctions: undefined,
    });
    const pf = parseNodeDevice(`<device><name>pci_0000_3b_00_0</name><parent>computer</parent>
      <capability type='pci'><class>0x020000</class>
        <capability type='virt_functions' maxCount='64'>
          <address domain='0x0000' bus='0x3b' slot='0x02' function='0x0'/>
        </capability>
      </capability></device>`);
    expect(pf.maxVirtualFunctions).toBe(64);
    expect(pf.netInterface).toBeUndefined();
  });
});
