import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { S3Storage, type S3Settings } from '../../src/creatives/storage/s3.ts';

// moto accepts unsigned requests, so the contract suite would pass with no credentials at all.
// Here a loopback server stands in for the bucket and records what S3Storage sends.
let server: Server;
let endpoint: string;
const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

before(async () => {
  server = createServer((request, response) => {
    seen.push({ method: request.method!, url: request.url!, headers: request.headers });
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-length': '0' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const settings = (secretAccessKey: string): S3Settings => ({
  bucket: 'signed-bucket',
  region: 'eu-west-3',
  endpoint,
  forcePathStyle: true,
  prefix: 'creatives/',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey,
});

async function authorizationFor(secret: string): Promise<string> {
  seen.length = 0;
  const storage = await S3Storage.open(settings(secret));
  try {
    await storage.delete('2b1f3c1e-9a8d-4f6e-8c2b-0d6e5f4a3b21.png');
  } finally {
    await storage.close();
  }
  assert.deepEqual(
    seen.map((r) => `${r.method} ${r.url.split('?')[0]}`),
    ['HEAD /signed-bucket/', 'DELETE /signed-bucket/creatives/2b1f3c1e-9a8d-4f6e-8c2b-0d6e5f4a3b21.png'],
  );
  for (const { headers } of seen) {
    assert.ok(headers['x-amz-date'], 'x-amz-date');
    assert.match(String(headers['x-amz-content-sha256']), /^[0-9a-f]{64}$|^UNSIGNED-PAYLOAD$/);
    assert.ok(!JSON.stringify(headers).includes(secret), 'the secret itself is never sent');
  }
  return String(seen.at(-1)!.headers.authorization);
}

test('every request to the bucket is signed with AWS Signature V4 by the configured key', async () => {
  const authorization = await authorizationFor('secret-one');
  assert.match(
    authorization,
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
  );
  assert.match(authorization, /SignedHeaders=[^,]*x-amz-date/);
});

test('the signature depends on the secret key', async () => {
  const signature = (authorization: string) => /Signature=([0-9a-f]{64})/.exec(authorization)![1];
  const one = signature(await authorizationFor('secret-one'));
  const two = signature(await authorizationFor('secret-two'));
  assert.notEqual(one, two);
});
