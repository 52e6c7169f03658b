import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, toProblem } from './problem';

/**
 * Every error leaving a Nest route becomes application/problem+json; so do Fastify's body errors and
 * unknown routes, which Nest sends through the global filters too. What Fastify and Node refuse before
 * routing has its own handlers (fastify-errors.ts), which build the same problem.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = toProblem(exception, req.url, req.id, this.logger);
    if (reply.sent) return;
    sendProblem(reply, body);
  }
}
