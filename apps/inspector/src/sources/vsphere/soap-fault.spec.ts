import { parseLocalizedFault, parseSoapFault } from './soap-fault';
import { parseXml, soapBody } from './soap-xml';

// Captured from govmomi's simulator (vcsim 0.24).
const ENVELOPE = (body: string) =>
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ' +
  'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ' +
  `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

const INVALID_LOGIN = ENVELOPE(
  '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Login failure</faultstring><detail>' +
    '<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault>',
);
const NOT_FOUND = ENVELOPE(
  '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>managed object not found: VirtualMachine:vm-999999</faultstring>' +
    '<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-999999</obj>' +
    '</ManagedObjectNotFoundFault></detail></soapenv:Fault>',
);
const NOT_AUTHENTICATED = ENVELOPE(
  '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring></faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" ' +
    'xsi:type="NotAuthenticated"><object type="VirtualMachine">vm-60</object><privilegeId>System.View</privilegeId>' +
    '</NotAuthenticatedFault></detail></soapenv:Fault>',
);
// A task's info.error (vcsim; vCenter writes xsi:type and a readable localizedMessage).
const TASK_ERROR =
  '<error xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"><fault XMLSchema-instance:type="InvalidPowerState">' +
  '<requestedState>poweredOff</requestedState><existingState>poweredOff</existingState></fault>' +
  '<localizedMessage>*types.InvalidPowerState</localizedMessage></error>';

const fault = (xml: string, method = 'M') => parseSoapFault(soapBody(parseXml(xml))!, method);

describe('parseSoapFault', () => {
  it('reads the fault type from detail xsi:type, with faultstring as the message', () => {
    const f = fault(INVALID_LOGIN, 'Login');
    expect(f).toMatchObject({ faultType: 'InvalidLogin', faultMessage: 'Login failure', method: 'Login' });
    expect(f.message).toBe('Login: InvalidLogin (Login failure)');
    expect(f.is('InvalidLogin', 'NotAuthenticated')).toBe(true);
  });

  it('keeps the detail for its fields', () => {
    const f = fault(NOT_FOUND, 'CreateSnapshot_Task');
    expect(f.faultType).toBe('ManagedObjectNotFound');
    expect(f.detail!.child('obj')!.moRef()).toEqual({ type: 'VirtualMachine', value: 'vm-999999' });
  });

  it('handles an empty faultstring', () => {
    expect(fault(NOT_AUTHENTICATED)).toMatchObject({
      faultType: 'NotAuthenticated',
      faultMessage: '',
      message: 'M: NotAuthenticated',
    });
  });

  it('falls back to the detail element name, then to faultcode', () => {
    const noXsi = ENVELOPE(
      '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>x</faultstring><detail><InvalidLoginFault xmlns="urn:vim25"/></detail></soapenv:Fault>',
    );
    const noDetail = ENVELOPE(
      '<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Unable to parse</faultstring></soapenv:Fault>',
    );
    expect(fault(noXsi).faultType).toBe('InvalidLogin');
    expect(fault(noDetail)).toMatchObject({ faultType: 'Client', faultMessage: 'Unable to parse' });
  });
});

describe('parseLocalizedFault', () => {
  it('reads a task error', () => {
    const f = parseLocalizedFault(parseXml(TASK_ERROR), 'CreateSnapshot_Task');
    expect(f).toMatchObject({ faultType: 'InvalidPowerState', faultMessage: '*types.InvalidPowerState' });
    expect(f.detail!.str('existingState')).toBe('poweredOff');
  });
});
