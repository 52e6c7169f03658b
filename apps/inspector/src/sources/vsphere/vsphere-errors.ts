import { SourceFatalError, VmInspectionError, VmNotFoundError } from '../source';
import { SoapFault, isSessionFault } from './soap-fault';
import { TaskWaitError } from './task-waiter';

/** A failure to log in (or to keep the session): all fatal, refused credentials as `auth`. */
export function sessionFailure(err: unknown, username: string): unknown {
  if (!(err instanceof SoapFault)) return err;
  if (err.is('InvalidLogin', 'NotAuthenticated')) {
    return new SourceFatalError(
      'auth',
      `vCenter refused the credentials of ${username} (${err.faultType})`,
      err.faultType,
    );
  }
  return new SourceFatalError('other', `vCenter answered ${err.message}`, err.faultType);
}

/**
 * A failure of one VM's work (`what`: "inspection", "snapshot removal", …): that VM's, unless the
 * session itself is lost; a VM vSphere does not know is VmNotFoundError.
 */
export function vmFailure(err: unknown, vmId: string, what: string, username: string): unknown {
  if (err instanceof SoapFault) {
    if (isSessionFault(err)) {
      return new SourceFatalError(
        'auth',
        `vCenter ended the session of ${username} and refused a new login (${err.faultType})`,
        err.faultType,
      );
    }
    if (err.is('ManagedObjectNotFound')) return new VmNotFoundError(vmId);
    const detail = err.faultMessage && err.faultMessage !== err.faultType ? `: ${err.faultMessage}` : '';
    return new VmInspectionError(`${what} of VM ${vmId} failed: ${err.faultType}${detail}`);
  }
  if (err instanceof TaskWaitError)
    return new VmInspectionError(`${what} of VM ${vmId} failed: ${err.message}`);
  return err;
}
