import { FerryError } from '@ferry/contracts';
import { SourceFatalError, VmInspectionError, VmNotFoundError } from './source';

/** Why opening a source failed, as the run (or the export) records it: with the fault when there is one. */
export function openFailure(err: unknown): string {
  if (err instanceof SourceFatalError) return err.fault ? `${err.fault}: ${err.message}` : err.message;
  return `cannot connect to the source: ${(err as Error).message}`;
}

/**
 * A failed open (a login) as the caller's error: refused credentials are the caller's mistake
 * (VALIDATION, with the fault), an unreachable vCenter is UNAVAILABLE, anything else INTERNAL.
 */
export function errorOfOpen(err: unknown, message = openFailure(err)): FerryError {
  if (err instanceof SourceFatalError) {
    const details = err.fault ? { fault: err.fault } : {};
    if (err.kind === 'auth')
      return new FerryError('VALIDATION', `vCenter refused the credentials: ${message}`, details);
    if (err.kind === 'unreachable')
      return new FerryError('UNAVAILABLE', `vCenter is unreachable: ${message}`, details);
  }
  return new FerryError('INTERNAL', message);
}

/**
 * A failure of work on one VM after the login, as the caller's error: a VM that is not there is
 * NOT_FOUND naming it, one vSphere refused (a wrong power state, a failed task) UNPROCESSABLE, a lost
 * session as `errorOfOpen` says. Anything else is rethrown for the transport's INTERNAL.
 */
export function errorOfVm(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  if (err instanceof VmNotFoundError) return FerryError.notFound(err.message, { vmId: err.vmId });
  if (err instanceof VmInspectionError) return new FerryError('UNPROCESSABLE', err.message);
  if (err instanceof SourceFatalError) return errorOfOpen(err);
  throw err;
}
