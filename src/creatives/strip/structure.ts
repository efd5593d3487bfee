/**
 * What is kept of an image after its metadata is taken out: slices of the upload, in order, and
 * the few bytes we write ourselves (a length or a flag that had to change). Nothing outside the
 * image's own structure is ever among them.
 */
export interface StrippedImage {
  parts: Uint8Array[];
  /** The frames an animated PNG declares (libvips shows only its first); 1 for anything else. */
  frames: number;
  /** Proves whole what the decoder that makes the variants does not read (an APNG's later frames). */
  verify?: () => Promise<void>;
}

/** The upload is not a whole image of its type: the message says what is wrong, in our words. */
export class NotWholeImage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotWholeImage';
  }
}

export const truncated = () => new NotWholeImage('the image is truncated');
export const damaged = (what: string) => new NotWholeImage(`the image is damaged: ${what}`);

/** Throws "truncated" unless `bytes` reaches at least to `end`. */
export function need(bytes: Uint8Array, end: number): void {
  if (end > bytes.length) throw truncated();
}

/** Adjacent slices of one buffer become one, so a file is written in a few large pieces. */
export class Parts {
  readonly list: Uint8Array[] = [];
  private source: Buffer | undefined;
  private start = 0;
  private end = 0;

  /** Keeps `source[start, end)`. */
  keep(source: Buffer, start: number, end: number): void {
    if (this.source === source && this.end === start) {
      this.end = end;
      return;
    }
    this.flush();
    this.source = source;
    this.start = start;
    this.end = end;
  }

  /** Adds bytes of our own. */
  add(bytes: Uint8Array): void {
    this.flush();
    this.list.push(bytes);
  }

  done(): Uint8Array[] {
    this.flush();
    return this.list;
  }

  private flush(): void {
    if (this.source && this.end > this.start) this.list.push(this.source.subarray(this.start, this.end));
    this.source = undefined;
  }
}
