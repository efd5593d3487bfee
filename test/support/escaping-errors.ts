import { subscribe } from 'node:diagnostics_channel';

/**
 * Loaded into a server under test with `node --import` (never by the server itself): a request
 * carrying `x-test-escape: throw` or `reject` leaves behind, in its own context, a timer whose
 * error no one catches, as a bug would. Fastify announces each handler on this channel.
 */
subscribe('tracing:fastify.request.handler:start', (message) => {
  const { request } = message as { request: { headers: Record<string, string | undefined> } };
  const escape = request.headers['x-test-escape'];
  if (escape === 'throw') {
    setTimeout(() => {
      throw new Error('escaped on purpose: thrown');
    }, 50);
  } else if (escape === 'reject') {
    setTimeout(() => void Promise.reject(new Error('escaped on purpose: rejected')), 50);
  }
});
