import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One access-log line per request, when it completes, instead of Fastify's two: every log line is
 * a synchronous write, and the "incoming request" line cost the feed about a fifth of its
 * throughput. The line carries the method, URL, client, status and response time. The arrival
 * line stays available at `debug` (LOG_LEVEL=debug), where it costs nothing unless enabled.
 */
export class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
