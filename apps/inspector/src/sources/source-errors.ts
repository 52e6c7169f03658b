import { FerryError } from '@ferry/contracts';
import { SourceFatalError, VmInspectionError, VmNotFoundError } from './source';

/**
 * Why opening a source failed, as the run (or the export) records it: with the fault when there is
 * one; an unreachable source's socket code is for the log only (see SourceFatalError.detail).
 */
export function openFailure(err: unknown): string {
  if (err instanceof SourceFatalError) {
    return err.fault && err.kind !== 'unreachable' ? `${err.fault}: ${err.message}` : err.message;
  }
  return `cannot connect to the source: ${(err as Error).message}`;
}

/**
 * A failed open (a login) as the caller's error: refused credentials are the caller's mistake
 * (VALIDATION, with the fault), a vCenter the settings refuse UNPROCESSABLE, an unreachable one
 * UNAVAILABLE (its message alone: "vCenter unreachable"), anything else INTERNAL.
 */
export function errorOfOpen(err: unknown, message = openFailure(err)): FerryError {
  if (err instanceof FerryError) return err;
  if (err instanceof SourceFatalError) {
    if (err.kind === 'auth') {
      const details = err.fault ? { fault: err.fault } : {};
      return new FerryError('VALIDATION', `vCenter refused the credentials: ${message}`, details);
    }
    if (err.kind === 'refused') return new FerryError('UNPROCESSABLE', message);
    if (err.kind === 'unreachable') return new FerryError('UNAVAILABLE', message);
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
