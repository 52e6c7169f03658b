import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CreateVmBody, CreateVmRequest, createVmRequestOf } from './vm.dto';
import { isUnicastMac } from './vm-nic.dto';

/** The fields a body fails on, as the gateway's validation pipe reports them. */
function invalidFields(body: object): string[] {
  return validateSync(plainToInstance(CreateVmBody, body), {
    whitelist: true,
    forbidNonWhitelisted: true,
  })
    .map((e) => e.property)
    .sort();
}

describe('CreateVmBody', () => {
  it("takes the template under Ferry's name or seed 004's", () => {
    expect(invalidFields({ template: 'small' })).toEqual([]);
    expect(invalidFields({ vm_template: 'small' })).toEqual([]);
    expect(invalidFields({ template: 'small', vm_template: 'small', name: 'web-1' })).toEqual([]);
  });

  it('requires one of them, and refuses two that differ or a bad name under either', () => {
    expect(invalidFields({})).toEqual(['template']);
    expect(invalidFields({ name: 'web-1' })).toEqual(['template']);
    expect(invalidFields({ template: 'small', vm_template: 'large' })).toEqual(['vm_template']);
    expect(invalidFields({ vm_template: 'has space' })).toEqual(['vm_template']);
    expect(invalidFields({ vm_template: null })).toEqual(['vm_template']);
    expect(invalidFields({ template: null, vm_template: 'small' })).toEqual(['template', 'vm_template']);
  });
});

describe('nics of a new VM', () => {
  const errorsOf = (cls: ClassConstructor<object>, body: object) =>
    validateSync(plainToInstance(cls, body), { whitelist: true, forbidNonWhitelisted: true });
  const messages = (body: object) =>
    errorsOf(CreateVmBody, { template: 'small', ...body }).flatMap((e) => [
      ...Object.values(e.constraints ?? {}),
      ...(e.children ?? []).flatMap((c) =>
        (c.children ?? []).flatMap((cc) => Object.values(cc.constraints ?? {})),
      ),
    ]);

  it('takes none, [] or NICs with or without a unicast MAC, in either create body', () => {
    for (const cls of [CreateVmBody, CreateVmRequest]) {
      for (const nics of [
        undefined,
        [],
        [{}],
        [{ mac: '52:54:00:12:34:56' }, {}],
        [{ mac: '00:50:56:A1:2B:3C' }],
      ])
        expect(errorsOf(cls, { template: 'small', nics })).toEqual([]);
    }
  });

  it('lower-cases a MAC on the way in', () => {
    const body = plainToInstance(CreateVmBody, { template: 'small', nics: [{ mac: '00:50:56:A1:2B:3C' }] });
    expect(body.nics?.[0]?.mac).toBe('00:50:56:a1:2b:3c');
    expect(createVmRequestOf(body)).toEqual({ template: 'small', nics: [{ mac: '00:50:56:a1:2b:3c' }] });
    expect(createVmRequestOf(plainToInstance(CreateVmBody, { template: 'small', nics: [{}] }))).toEqual({
      template: 'small',
      nics: [{}],
    });
  });

  it.each([
    ['a multicast MAC', [{ mac: '01:00:5e:00:00:01' }]],
    ['the broadcast MAC', [{ mac: 'ff:ff:ff:ff:ff:ff' }]],
    ['dashes', [{ mac: '52-54-00-12-34-56' }]],
    ['a short MAC', [{ mac: '52:54:00:12:34' }]],
    ['not hex', [{ mac: '52:54:00:zz:34:56' }]],
    ['a number', [{ mac: 5 }]],
  ])('refuses %s', (_what, nics) => {
    expect(messages({ nics })).toContain('mac must be a unicast MAC address, xx:xx:xx:xx:xx:xx (hex)');
  });

  it('refuses a MAC twice, more than 8 NICs, an unknown field and a NIC that is not an object', () => {
    expect(messages({ nics: [{ mac: '52:54:00:12:34:56' }, { mac: '52:54:00:12:34:56' }] })).toContain(
      'nics must not repeat a MAC',
    );
    expect(
      messages({ nics: [{ mac: '52:54:00:12:34:56' }, { mac: '52:54:00:12:34:56'.toUpperCase() }] }),
    ).toContain('nics must not repeat a MAC');
    expect(messages({ nics: Array.from({ length: 9 }, () => ({})) })).toContain(
      'nics must contain no more than 8 elements',
    );
    expect(messages({ nics: [{ model: 'e1000' }] })).toContain('property model should not exist');
    expect(errorsOf(CreateVmBody, { template: 'small', nics: ['52:54:00:12:34:56'] })).not.toEqual([]);
    expect(errorsOf(CreateVmBody, { template: 'small', nics: {} })).not.toEqual([]);
  });

  it('knows a unicast MAC by the group bit of its first octet', () => {
    expect(isUnicastMac('52:54:00:12:34:56')).toBe(true);
    expect(isUnicastMac('02:00:00:00:00:01')).toBe(true);
    expect(isUnicastMac('03:00:00:00:00:01')).toBe(false);
    expect(isUnicastMac('52:54:00:12:34:5G')).toBe(false);
  });
});

describe('createVmRequestOf', () => {
  it('gives vm-operator the template under its one name', () => {
    expect(createVmRequestOf({ vm_template: 'small' })).toEqual({ template: 'small' });
    expect(createVmRequestOf({ template: 'small', name: 'web-1' })).toEqual({
      template: 'small',
      name: 'web-1',
    });
    expect(() => createVmRequestOf({})).toThrow('no template');
  });
});
