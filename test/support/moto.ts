import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/creatives/storage/s3.ts';
import { freePort } from './server-process.ts';

/**
 * moto's S3 server on a free loopback port: a real S3 protocol endpoint for the tests (it does
 * not check signatures; test/creatives/s3-signing.test.ts does). Any credentials are accepted.
 */
export interface Moto {
  endpoint: string;
  /** A client on moto, for tests that look at the bucket behind the app's back. */
  client: S3Client;
  /** A new empty bucket; its name. */
  createBucket(): Promise<string>;
  /** S3Storage's settings for `bucket` on this server. */
  settings(bucket: string, prefix?: string): S3Settings;
  /** Every object key in `bucket`, and `multipart upload of <key>` for each incomplete multipart upload. */
  contents(bucket: string): Promise<string[]>;
  /** The environment that points the app at `bucket` on this server. */
  env(bucket: string): Record<string, string>;
  stop(): Promise<void>;
}

export const MOTO_CREDENTIALS = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };
const REGION = 'us-east-1';

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  // In a process group of its own: the pyenv shim may leave a wrapper between us and Python.
  const proc = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', () => kill('SIGKILL'));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited at start-up: ${stderr}`);
    const up = await fetch(endpoint).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const client = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: MOTO_CREDENTIALS });
  return {
    endpoint,
    client,
    async createBucket() {
      const bucket = `cheershare-test-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    settings: (bucket, prefix = 'creatives/') => ({
      bucket,
      region: REGION,
      endpoint,
      forcePathStyle: true,
      prefix,
      ...MOTO_CREDENTIALS,
    }),
    async contents(bucket) {
      const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return [
        ...(objects.Contents ?? []).map((o) => o.Key!),
        ...(uploads.Uploads ?? []).map((u) => `multipart upload of ${u.Key}`),
      ];
    },
    env: (bucket) => ({
      STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_REGION: REGION,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    }),
    async stop() {
      client.destroy();
      kill('SIGTERM');
      await exited;
    },
  };
}
