import { SoapClient } from './soap-client';
import type { SoapResponse, SoapTransport } from './soap-transport';
import type { MoRef } from './soap-xml';
import { parseXml } from './soap-xml';
import type { LookupContext } from './vm-lookup';
import { datacenterPath, inventoryPath } from './vm-lookup';

const NS =
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** An inventory: each object's name and parent; answers RetrievePropertiesEx of `name` and `parent`. */
function inventory(entities: Record<string, { type: string; name: string; parent?: MoRef }>): LookupContext {
  const transport: SoapTransport = {
    async send(req): Promise<SoapResponse> {
      const value = /<obj type="[^"]+">([^<]+)<\/obj>/.exec(req.body)![1]!;
      const e = entities[value];
      const props = e
        ? `<propSet><name>name</name><val xsi:type="xsd:string">${e.name}</val></propSet>` +
          (e.parent
            ? `<propSet><name>parent</name><val type="${e.parent.type}" xsi:type="ManagedObjectReference">${e.parent.value}</val></propSet>`
            : '')
        : '';
      const body = `<soapenv:Envelope ${NS}><soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="${e?.type}">${value}</obj>${props}</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>`;
      return { status: 200, body, cookie: null };
    },
    close: () => undefined,
  };
  return {
    client: new SoapClient(transport, 'https://vc/sdk', 1000),
    propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
    searchIndex: { type: 'SearchIndex', value: 'SearchIndex' },
  };
}

const ref = (type: string, value: string): MoRef => ({ type, value });
const vmProps = (name: string, parent: MoRef) =>
  new Map([
    ['name', parseXml(`<val>${name}</val>`)],
    ['parent', parseXml(`<val type="${parent.type}">${parent.value}</val>`)],
  ]);

describe('datacenterPath and inventoryPath', () => {
  const ctx = inventory({
    'group-d1': { type: 'Folder', name: 'Datacenters' },
    'group-f1': { type: 'Folder', name: 'Europe', parent: ref('Folder', 'group-d1') },
    'datacenter-2': { type: 'Datacenter', name: 'DC0', parent: ref('Folder', 'group-f1') },
    'group-v3': { type: 'Folder', name: 'vm', parent: ref('Datacenter', 'datacenter-2') },
    'group-v4': { type: 'Folder', name: 'web', parent: ref('Folder', 'group-v3') },
    'datacenter-9': { type: 'Datacenter', name: 'DC1', parent: ref('Folder', 'group-d1') },
    'group-v10': { type: 'Folder', name: 'vm', parent: ref('Datacenter', 'datacenter-9') },
  });
  const signal = () => AbortSignal.timeout(5000);

  it('names the datacenter by its inventory path, folders included, without the root folder', async () => {
    const props = vmProps('web01', ref('Folder', 'group-v4'));
    await expect(datacenterPath(ctx, props, signal())).resolves.toBe('Europe/DC0');
    await expect(inventoryPath(ctx, props, signal())).resolves.toBe('/Europe/DC0/vm/web/web01');
    await expect(datacenterPath(ctx, vmProps('db01', ref('Folder', 'group-v10')), signal())).resolves.toBe(
      'DC1',
    );
  });

  it('is null when no datacenter is above the object, or the chain breaks off', async () => {
    await expect(datacenterPath(ctx, vmProps('x', ref('Folder', 'group-d1')), signal())).resolves.toBeNull();
    await expect(datacenterPath(ctx, new Map(), signal())).resolves.toBeNull();
  });
});
