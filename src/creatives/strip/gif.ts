import { damaged, need, Parts, type StrippedImage } from './structure.ts';

const EXTENSION = 0x21;
const IMAGE = 0x2c;
const TRAILER = 0x3b;
const GRAPHIC_CONTROL = 0xf9;
const APPLICATION = 0xff;

/** The application extensions that say how often an animation loops (Netscape's, and its twin). */
const LOOP_COUNT_APPLICATIONS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0']);

/** Size of a colour table that a packed-fields byte announces (bit 7: present; bits 0–2: size). */
const colourTableBytes = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0);

/**
 * Keeps the header, the colour tables, every image with its graphic control (delays, disposal,
 * transparency) and the loop count, block by block up to the trailer; comments, plain-text
 * extensions, other applications' blocks (XMP, ICC, editors' data) and whatever follows the
 * trailer are left out. A GIF without its trailer is truncated.
 */
export function stripGif(bytes: Buffer): StrippedImage {
  need(bytes, 13);
  if (!['GIF87a', 'GIF89a'].includes(bytes.toString('latin1', 0, 6))) throw damaged('it does not start like a GIF');
  const parts = new Parts();
  let at = 13 + colourTableBytes(bytes[10]!);
  need(bytes, at);
  parts.keep(bytes, 0, at);
  for (;;) {
    need(bytes, at + 1);
    const block = bytes[at]!;
    if (block === TRAILER) {
      parts.keep(bytes, at, at + 1);
      break;
    }
    if (block === IMAGE) {
      need(bytes, at + 10);
      const end = subBlocksEnd(bytes, at + 10 + colourTableBytes(bytes[at + 9]!) + 1); // + LZW code size
      parts.keep(bytes, at, end);
      at = end;
    } else if (block === EXTENSION) {
      need(bytes, at + 2);
      const end = subBlocksEnd(bytes, at + 2);
      if (keepExtension(bytes, at)) parts.keep(bytes, at, end);
      at = end;
    } else {
      throw damaged('a GIF block of an unknown kind');
    }
  }
  return { parts: parts.done(), frames: 1 };
}

function keepExtension(bytes: Buffer, at: number): boolean {
  const label = bytes[at + 1];
  if (label === GRAPHIC_CONTROL) return true;
  // An application extension's first sub-block is its 11-byte identifier and code.
  return label === APPLICATION && bytes[at + 2] === 11 && LOOP_COUNT_APPLICATIONS.has(bytes.toString('latin1', at + 3, at + 14));
}

/** Where a chain of sub-blocks (a length byte, that many bytes, …, a zero) starting at `at` ends. */
function subBlocksEnd(bytes: Buffer, at: number): number {
  let next = at;
  for (;;) {
    need(bytes, next + 1);
    const length = bytes[next]!;
    next += 1 + length;
    if (length === 0) return next;
  }
}
