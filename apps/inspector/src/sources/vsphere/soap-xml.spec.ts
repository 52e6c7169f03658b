import { el, envelope, escapeXml, moRefEl, parseXml, soapBody } from './soap-xml';

describe('escapeXml', () => {
  it('escapes markup and quotes, and drops characters XML cannot carry', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(escapeXml('x\u0000y\u0007z\u001b')).toBe('xyz');
    expect(escapeXml('tab\tnew\nline é 😀')).toBe('tab\tnew\nline é 😀');
    expect(escapeXml(']]>')).toBe(']]&gt;');
  });
});

describe('envelope', () => {
  it('builds a vim25 request whose values survive a round trip', () => {
    const nasty = `p&ss</password><x>"'`;
    const xml = envelope('Login', { type: 'SessionManager', value: 'SessionManager' }, el('password', nasty));
    const method = soapBody(parseXml(xml))!;
    expect(method.name).toBe('Login');
    expect(method.child('_this')!.moRef()).toEqual({ type: 'SessionManager', value: 'SessionManager' });
    expect(method.str('password')).toBe(nasty);
    expect(method.children.map((c) => c.name)).toEqual(['_this', 'password']);
  });

  it('escapes MoRef types and values too', () => {
    expect(moRefEl('obj', { type: 'A"B', value: '<v>' })).toBe('<obj type="A&quot;B">&lt;v&gt;</obj>');
  });
});

describe('parseXml', () => {
  it('resolves xsi:type by namespace, whatever the prefix, and keeps a MoRef type apart', () => {
    const root = parseXml(
      `<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:other="urn:other">
        <a xsi:type="xsd:string">1</a>
        <b xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="VirtualDisk"/>
        <c other:type="NotXsi" type="VirtualMachineSnapshot" xsi:type="ManagedObjectReference">snapshot-7</c>
      </r>`,
    );
    expect(root.child('a')!.xsiType).toBe('string');
    expect(root.child('b')!.xsiType).toBe('VirtualDisk');
    expect(root.child('c')!.xsiType).toBe('ManagedObjectReference');
    expect(root.child('c')!.moRef()).toEqual({ type: 'VirtualMachineSnapshot', value: 'snapshot-7' });
  });

  it('decodes entities once and keeps whitespace inside values', () => {
    const root = parseXml('<r><n> db &amp;amp; &lt;x&gt; &#233;&#x41; </n><e/><cd><![CDATA[a<b]]></cd></r>');
    expect(root.str('n')).toBe(' db &amp; <x> éA ');
    expect(root.str('e')).toBe('');
    expect(root.str('cd')).toBe('a<b');
    expect(root.str('missing')).toBeNull();
  });

  it('reads numbers and booleans, and null when absent or odd', () => {
    const root = parseXml('<r><i>42</i><b>true</b><f>false</f><x>abc</x></r>');
    expect([root.int('i'), root.int('x'), root.int('nope')]).toEqual([42, null, null]);
    expect([root.bool('b'), root.bool('f'), root.bool('x')]).toEqual([true, false, null]);
  });

  it('finds the body of an envelope, whatever its prefix', () => {
    const xml =
      '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><LogoutResponse xmlns="urn:vim25"/></S:Body></S:Envelope>';
    expect(soapBody(parseXml(xml))!.name).toBe('LogoutResponse');
    expect(soapBody(parseXml('<html><body>503</body></html>'))).toBeUndefined();
  });
});
