import type { Readable } from 'node:stream';

/**
 * Where creatives' bytes live. Local disk today; object storage plugs in here later.
 *
 * `put` streams a body in under a new key but publishes nothing: the object becomes readable
 * under its key only on `commit()`, so a caller can still refuse the upload (a date that arrives
 * after the file) without a half-accepted object ever being visible.
 */
export interface Storage {
  /** Streams `body` to a new object named `<uuid>.<extension>`; rejects, leaving nothing, if it errors. */
  put(body: Readable, extension: string): Promise<PendingObject>;
  /** Removes a published object; a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** The path clients fetch the object from. */
  url(key: string): string;
  /** The key behind a URL that `url` made (or the original server stored); undefined for anything else. */
  keyFromUrl(url: string): string | undefined;
}

export interface PendingObject {
  key: string;
  size: number;
  /** Publishes the object under `key`. */
  commit(): Promise<void>;
  /** Throws the bytes away; safe to call more than once. */
  discard(): Promise<void>;
}
