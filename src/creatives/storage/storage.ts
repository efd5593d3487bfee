import type { Readable } from 'node:stream';

/**
 * What is stored: bytes in memory (a variant) or a file whose size is known (an original, written
 * whole by the image processing before it is stored).
 */
export type ObjectBody = Buffer | { path: string; size: number };

/**
 * Where creatives' bytes live: files in UPLOAD_DIR, or objects in an S3-compatible bucket.
 *
 * `put` writes a body under a new key but publishes nothing: the object becomes readable under its
 * key only on `commit()`, so that an image and its variants are published together, or none.
 */
export interface Storage {
  /**
   * Writes `body` to a new object named `<stem>.<extension>` (stem: a new uuid unless given, as
   * for a variant beside its original); rejects, leaving nothing, if it fails.
   */
  put(body: ObjectBody, extension: string, stem?: string): Promise<PendingObject>;
  /** Removes a published object; a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** The path clients fetch the object from. */
  url(key: string): string;
  /** The key behind a URL that `url` made (or the original server stored); undefined for anything else. */
  keyFromUrl(url: string): string | undefined;
  /** Size and validator of a published object, or undefined if there is none by that name. */
  stat(name: string): Promise<StoredFile | undefined>;
  /** The object's bytes (`range` inclusive), streamed; undefined if it is gone. */
  open(name: string, range: ByteRange): Promise<Readable | undefined>;
  /** Every published object, in no particular order. */
  list(): AsyncIterable<{ name: string; modifiedAt: Date }>;
  /** Removes what uploads that failed before `before` left behind (never a published object); how many. */
  sweepLeftovers(before: Date): Promise<number>;
  /** Lets go of connections; nothing is used afterwards. */
  close(): Promise<void>;
}

export interface PendingObject {
  key: string;
  size: number;
  /** Publishes the object under `key`. */
  commit(): Promise<void>;
  /** Throws the bytes away; safe to call more than once. */
  discard(): Promise<void>;
}

export interface StoredFile {
  size: number;
  /** A strong validator, quoted. */
  etag: string;
  modifiedAt: Date;
}

export interface ByteRange {
  start: number;
  end: number;
}

export const bodySize = (body: ObjectBody): number => (Buffer.isBuffer(body) ? body.length : body.size);

export const URL_PREFIX = '/uploads/';

/** A stored name never changes content. */
export const FILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

// The original stored `<uuid><extension of the client's file name>`, so its files may end in
// .jpeg or .JPG; ours end in jpg, png, gif or webp, and variants in .thumb.webp or .feed.webp.
const STORED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\.thumb|\.feed)?\.(jpe?g|png|gif|webp)$/i;

/** True for a name a stored file can have; nothing else is ever served or deleted. */
export function isStoredName(name: string): boolean {
  return STORED_NAME.test(name);
}

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** The content type a stored name is served with (its extension is the detected type's). */
export function contentTypeOf(name: string): string {
  const extension = STORED_NAME.exec(name)?.[1]?.toLowerCase();
  return (extension && CONTENT_TYPES[extension]) ?? 'application/octet-stream';
}

/** The URL a row stores for a stored name: `/uploads/<name>`, whatever the storage. */
export function storedUrl(name: string): string {
  return URL_PREFIX + name;
}

/** The stored name behind a row's URL (ours, or the original server's `./uploads/<name>`); undefined for anything else. */
export function nameFromUrl(url: string): string | undefined {
  const name = /^\.?\/uploads\/([^/]+)$/.exec(url)?.[1];
  return name !== undefined && isStoredName(name) ? name : undefined;
}

/**
 * The URL clients are given for a row's stored URL: `<PUBLIC_FILES_URL>/<name>` when that is set
 * (a CDN or the bucket's public address), else `/uploads/<name>`. Rows keep `/uploads/<name>`, so
 * PUBLIC_FILES_URL can change without touching them.
 */
export function publicFileUrl(url: string, publicFilesUrl: string | undefined): string {
  const name = nameFromUrl(url);
  if (name === undefined) return url;
  return publicFilesUrl === undefined ? storedUrl(name) : `${publicFilesUrl}/${name}`;
}
