// The yardstick for GET /scheduled: node:http alone, answering every request with the status,
// headers and body our server sent for it (BARE_RESPONSE: a JSON file), on PORT. No routing, no
// authentication, no logging: what Node.js itself costs per request.
import { readFileSync } from 'node:fs';
import { createServer, type OutgoingHttpHeaders } from 'node:http';

const { status, headers, body } = JSON.parse(readFileSync(process.env.BARE_RESPONSE!, 'utf8')) as {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
};
const payload = Buffer.from(body);
const server = createServer((_request, response) => {
  response.writeHead(status, headers);
  response.end(payload);
});
// Fastify's keep-alive timeout, which the Keep-Alive header names: the same bytes as ours.
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
