import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CreateVmBody, createVmRequestOf } from './vm.dto';

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
