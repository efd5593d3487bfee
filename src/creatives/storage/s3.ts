import { randomUUID } from 'node:crypto';
import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DependencyUnavailable } from '../../platform/dependency-unavailable.ts';
import {
  bodySize,
  contentTypeOf,
  FILE_CACHE_CONTROL,
  isStoredName,
  nameFromUrl,
  storedUrl,
  type ByteRange,
  type ObjectBody,
  type PendingObject,
  type Storage,
  type StoredFile,
} from './storage.ts';

export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Prepended to every key, e.g. `creatives/`. */
  prefix: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Where `put` streams an object before `commit` publishes it: never a stored name, swept when abandoned. */
const PENDING = '.pending/';

/**
 * Creatives as objects in an S3-compatible bucket under `prefix`.
 *
 * `put` sends the body, whose length is known, in one PUT (a file is streamed from disk) to
 * `<prefix>.pending/<name>`, and `commit` copies it to `<prefix><name>` inside the bucket and
 * deletes the pending object. The object under its final name is therefore written whole (a copy
 * is atomic) or not at all, and instances keep nothing but an upload's temporary files. A pending
 * object that a crash left behind is removed by `sweepLeftovers`, and so is a multipart upload
 * that an earlier version (which streamed uploads in 5 MiB parts) left.
 */
export class S3Storage implements Storage {
  private constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly prefix: string,
  ) {}

  /** Connects and checks that the bucket exists: a missing or forbidden bucket is a start-up error naming it. */
  static async open(settings: S3Settings): Promise<S3Storage> {
    const client = createS3Client(settings);
    const storage = new S3Storage(client, settings.bucket, settings.prefix);
    try {
      await client.send(new HeadBucketCommand({ Bucket: settings.bucket }));
    } catch (error) {
      client.destroy();
      const status = (error as S3ServiceException).$metadata?.httpStatusCode;
      if (status === 404) throw new Error(`S3_BUCKET: bucket "${settings.bucket}" does not exist`, { cause: error });
      if (status === 403) throw new Error(`S3_BUCKET: access to bucket "${settings.bucket}" is denied`, { cause: error });
      throw new Error(`S3_BUCKET: bucket "${settings.bucket}" could not be reached`, { cause: error });
    }
    return storage;
  }

  async put(body: ObjectBody, extension: string, stem: string = randomUUID()): Promise<PendingObject> {
    const name = `${stem}.${extension}`;
    if (!isStoredName(name)) throw new Error(`not a stored name: "${name}"`);
    const pendingKey = this.prefix + PENDING + name;
    const size = bodySize(body);
    // Opened first, so that a file that cannot be read is our error, not the bucket's.
    const file = Buffer.isBuffer(body) ? undefined : await openFile(body.path);
    try {
      // One PUT of a known length, streamed from the file: no part is ever buffered in memory.
      await this.call((c) =>
        c.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: pendingKey,
            Body: Buffer.isBuffer(body) ? body : file!.createReadStream({ autoClose: false }),
            ContentLength: size,
            ContentType: contentTypeOf(name),
          }),
        ),
      );
    } finally {
      await file?.close();
    }
    const discard = () =>
      this.call((c) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: pendingKey }))).then(() => {});
    const commit = async () => {
      try {
        await this.call((c) =>
          c.send(
            new CopyObjectCommand({
              Bucket: this.bucket,
              Key: this.prefix + name,
              CopySource: `${this.bucket}/${encodeURIComponent(pendingKey)}`,
              ContentType: contentTypeOf(name),
              CacheControl: FILE_CACHE_CONTROL,
              MetadataDirective: 'REPLACE',
            }),
          ),
        );
      } finally {
        await discard();
      }
    };
    return { key: name, size, commit, discard };
  }

  readonly url = storedUrl;
  readonly keyFromUrl = nameFromUrl;

  async delete(name: string): Promise<void> {
    if (!isStoredName(name)) throw new Error(`not a stored object key: "${name}"`);
    await this.call((c) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name })));
  }

  async stat(name: string): Promise<StoredFile | undefined> {
    if (!isStoredName(name)) return undefined;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
      return { size: head.ContentLength ?? 0, etag: head.ETag ?? `"${name}"`, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new DependencyUnavailable('storage', { cause: error });
    }
  }

  async open(name: string, range: ByteRange): Promise<Readable | undefined> {
    try {
      const { Body } = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + name, Range: `bytes=${range.start}-${range.end}` }),
      );
      // In Node.js the SDK's body is the HTTP response itself: streamed, never buffered whole.
      return Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new DependencyUnavailable('storage', { cause: error });
    }
  }

  async *list(): AsyncGenerator<{ name: string; modifiedAt: Date }> {
    for await (const object of this.listObjects(this.prefix)) {
      const name = object.key.slice(this.prefix.length);
      if (isStoredName(name)) yield { name, modifiedAt: object.modifiedAt };
    }
  }

  /** Removes pending objects and aborts multipart uploads started before `before`: their upload has long failed. */
  async sweepLeftovers(before: Date): Promise<number> {
    let removed = 0;
    for await (const object of this.listObjects(this.prefix + PENDING)) {
      if (object.modifiedAt >= before) continue;
      await this.call((c) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.key })));
      removed++;
    }
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.call((c) =>
        c.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= before) continue;
        await this.call((c) =>
          c.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId })),
        );
        removed++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return removed;
  }

  async ping(): Promise<void> {
    await this.call((c) => c.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async *listObjects(prefix: string): AsyncGenerator<{ key: string; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.call((c) =>
        c.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, modifiedAt: object.LastModified ?? new Date() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Runs one request to the bucket; any failure is the bucket being unavailable. */
  private async call<T>(request: (client: S3Client) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (error) {
      throw new DependencyUnavailable('storage', { cause: error });
    }
  }
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // Unset: the SDK's default chain (environment, shared files, instance role).
    credentials:
      settings.accessKeyId && settings.secretAccessKey
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
        : undefined,
    // Checksums only where S3 requires them: several S3-compatible stores refuse the newer
    // default trailing checksums on streamed uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A bucket that does not answer turns into a 503 in seconds, not a hanging request.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000 },
    maxAttempts: 2,
  });
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)
  );
}
