import type { ArgumentsHost, RpcExceptionFilter } from '@nestjs/common';
import { Catch, Logger } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { throwError } from 'rxjs';
import { toRpcErrorBody } from './rpc-error';

/** The one exception filter of every NATS handler: errors leave as `{code, message, details}`. */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger(RpcErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const subject = host.switchToRpc().getContext<{ getSubject?: () => string }>().getSubject?.() ?? 'rpc';
    const body = toRpcErrorBody(exception, this.logger, subject);
    return throwError(() => body);
  }
}
